"""Merkle tree core of the tamper-evident audit log (R-IR-5): RFC 9162 section 2.1, SHA-256.

Pure: no Django, no I/O, plain bytes in and out. Three layers:

* direct forms over a whole entry list (`root_hash`, `inclusion_proof`, `consistency_proof`),
  the reference the log and its tests are checked against;
* verifiers (`verify_inclusion`, `verify_inclusion_leaf`, `verify_consistency`) that follow the
  RFC 9162 2.1.3.2 and 2.1.4.2 algorithms step by step, so a third-party auditor holding only
  a signed (size, root) and a leaf hash can check the log without trusting it;
* storage-agnostic incremental forms: `CompactRange` (the frontier a log appends to in
  O(log n)) and proofs computed through a subtree-hash callback (`inclusion_proof_from`,
  `consistency_proof_from`), answered from stored complete aligned nodes by `subtree_root`.

Node numbering used by the incremental forms: the node at level L, index i is the root of the
perfect subtree over leaves [i * 2**L, (i + 1) * 2**L); level 0 holds the leaf hashes. Such a
node is *complete* once leaf (i + 1) * 2**L - 1 has been appended, and never changes afterwards,
so a store can write it once and read it forever.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "Node",
    "NodeLookup",
    "SubtreeLookup",
    "consistency_proof",
    "consistency_proof_from",
    "inclusion_proof",
    "inclusion_proof_from",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_hash",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_inclusion_leaf",
]

HASH_SIZE = 32
"""Size in bytes of every node hash (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) of RFC 9162 2.1.1: the root of the empty tree, SHA-256 of the empty string."""

SubtreeLookup = Callable[[int, int], bytes]
"""`get_subtree(start, end)` -> MTH(leaves[start:end]); asked only for tree-aligned ranges."""

NodeLookup = Callable[[int, int], bytes]
"""`get_node(level, index)` -> stored hash of the complete node at that level and index."""


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the domain-separated hash of one log entry (R-IR-5)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node, domain-separated from leaves (R-IR-5)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of perfect subtrees listed left to right with strictly decreasing sizes."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) from leaf hashes, by the RFC 9162 2.1.1 recursion (no copying)."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[start]
    k = _split(n)
    return node_hash(_mth(leaves, start, start + k), _mth(leaves, start + k, end))


def _in_memory(entries: Sequence[bytes]) -> tuple[int, SubtreeLookup]:
    """Hash the entries once and expose MTH of any range of them as a subtree lookup."""
    leaves = [leaf_hash(entry) for entry in entries]

    def get_subtree(start: int, end: int) -> bytes:
        return _mth(leaves, start, end)

    return len(leaves), get_subtree


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """`leaf_hash` of every entry, in one comprehension (no Python call per entry)."""
    sha = hashlib.sha256
    return [sha(_LEAF_PREFIX + entry).digest() for entry in entries]


def _parents(level: Sequence[bytes]) -> list[bytes]:
    """`node_hash` of each neighbour pair (0,1), (2,3), ...; an odd last node is left out.

    The batch step shared by `root_hash` and `CompactRange.extend`: one list comprehension per
    tree level instead of a Python call per node.
    """
    sha = hashlib.sha256
    pairs = iter(level)
    return [sha(_NODE_PREFIX + left + right).digest()
            for left, right in zip(pairs, pairs, strict=False)]


def root_hash(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 2.1.1 over the raw entries; EMPTY_ROOT for no entries (R-IR-5).

    Computed bottom-up, level by level: pairing neighbours and carrying an odd last node up
    unchanged builds exactly the RFC's left-complete tree (the recursion splits at the largest
    power of two below n, which is where the pairing puts every boundary), without a Python
    call per node.
    """
    level = leaf_hashes(entries)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        parents = _parents(level)
        if len(level) & 1:
            parents.append(level[-1])
        level = parents
    return level[0]


def inclusion_proof(entries: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1, leaf side first; needs 0 <= index < n (R-IR-5)."""
    size, get_subtree = _in_memory(entries)
    return inclusion_proof_from(get_subtree, index, size)


def consistency_proof(entries: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 2.1.4.1; [] if equal sizes, else 0 < old_size (R-IR-5)."""
    size, get_subtree = _in_memory(entries)
    return consistency_proof_from(get_subtree, old_size, size)


def _path(get_subtree: SubtreeLookup, m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) with m relative to start, exactly the RFC 9162 2.1.3.1 recursion."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(get_subtree, m, start, start + k), get_subtree(start + k, end)]
    return [*_path(get_subtree, m - k, start + k, end), get_subtree(start, start + k)]


def _subproof(
    get_subtree: SubtreeLookup, m: int, start: int, end: int, *, whole: bool
) -> list[bytes]:
    """SUBPROOF(m, D[start:end], whole), exactly the RFC 9162 2.1.4.1 recursion."""
    n = end - start
    if m == n:
        return [] if whole else [get_subtree(start, end)]
    k = _split(n)
    if m <= k:
        head = _subproof(get_subtree, m, start, start + k, whole=whole)
        return [*head, get_subtree(start + k, end)]
    head = _subproof(get_subtree, m - k, start + k, end, whole=False)
    return [*head, get_subtree(start, start + k)]


def inclusion_proof_from(get_subtree: SubtreeLookup, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) asking `get_subtree` <= ceil(log2 size) tree-aligned ranges (R-IR-5).

    Every range asked for is either a perfect aligned subtree [i*2**L, (i+1)*2**L) (one stored
    node) or, at most once per proof, a right-edge range [start, size) with start a multiple of
    the smallest power of two >= size - start; `subtree_root` answers both from stored nodes, so
    a proof costs at most 2*ceil(log2 size) node reads.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of size {size}")
    return _path(get_subtree, index, 0, size)


def consistency_proof_from(get_subtree: SubtreeLookup, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) asking `get_subtree` only tree-aligned ranges (R-IR-5).

    As for inclusion, each range is a perfect aligned subtree or (at most once) a right-edge
    range [start, new_size), so a store answers with at most 2*ceil(log2 new_size) node reads.
    """
    if old_size == new_size and old_size >= 0:
        return []
    if not 0 < old_size < new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    return _subproof(get_subtree, old_size, 0, new_size, whole=True)


def subtree_root(get_node: NodeLookup, start: int, end: int) -> bytes:
    """MTH(leaves[start:end]) from stored nodes in <= log2(end - start) + 1 lookups (R-IR-5).

    Tree-aligned means start is a multiple of the smallest power of two >= end - start: the
    range is then a prefix of one aligned subtree, its RFC 9162 split points fall on aligned
    node boundaries, and its root is the right fold of the nodes for the set bits of
    end - start, largest first. Every prefix [0, n) and every range a proof asks for is
    tree-aligned. Other ranges are refused: their MTH re-pairs leaves across node boundaries
    and cannot be built from stored nodes without reading every leaf.
    """
    count = end - start
    if start < 0 or count < 0:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    if count == 0:
        return EMPTY_ROOT
    width = 1 << (count - 1).bit_length()
    if start % width:
        raise ValueError(f"leaf range [{start}, {end}) is not tree-aligned")
    hashes: list[bytes] = []
    position = start
    for level in range(width.bit_length() - 1, -1, -1):
        if (count >> level) & 1:
            hashes.append(get_node(level, position >> level))
            position += 1 << level
    return _fold(hashes)


def verify_inclusion(
    entry: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff `proof` shows `entry` at `index` in the tree (`size`, `root`) (R-IR-5)."""
    return verify_inclusion_leaf(leaf_hash(entry), index, size, proof, root)


def verify_inclusion_leaf(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: True iff `proof` takes `leaf_hash` at `index` to (size, root) (R-IR-5)."""
    if not 0 <= index < size or len(leaf_hash) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: True iff `proof` shows the old tree is a prefix of the new (R-IR-5).

    Equal sizes need an empty proof and equal roots (the empty root for size 0). An old size of
    0 below a larger new size is rejected: RFC 9162 defines PROOF(m, D[n]) only for 0 < m, and
    an empty tree commits to nothing that could be checked.
    """
    if not 0 <= old_size <= new_size or any(len(c) != HASH_SIZE for c in proof):
        return False
    if old_size == new_size:
        expected = EMPTY_ROOT if old_size == 0 else old_root
        return not proof and old_root == expected and new_root == expected
    if old_size == 0 or not proof:
        return False
    path = [old_root, *proof] if (old_size & (old_size - 1)) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass(frozen=True, slots=True)
class Node:
    """A complete node: root of leaves [index * 2**level, (index + 1) * 2**level); never changes."""

    level: int
    index: int
    hash: bytes


class CompactRange:
    """The log frontier: one perfect-subtree root per set bit of size, largest first (R-IR-5)."""

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        """Rebuild a frontier; ValueError unless it has one HASH_SIZE hash per set bit of `size`."""
        hash_list = list(hashes)
        if size < 0 or len(hash_list) != size.bit_count():
            raise ValueError(f"a frontier of size {size} cannot hold {len(hash_list)} hashes")
        if any(len(h) != HASH_SIZE for h in hash_list):
            raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._hashes = hash_list

    @classmethod
    def from_hex(cls, size: int, hashes: Iterable[str]) -> CompactRange:
        """Inverse of `to_hex`: the frontier a store persisted; ValueError on a malformed one."""
        return cls(size, [bytes.fromhex(h) for h in hashes])

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        """The frontier after appending `leaf_hashes` in order to an empty log."""
        frontier = cls()
        for leaf in leaf_hashes:
            frontier.append(leaf)
        return frontier

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, left to right (largest subtree first)."""
        return tuple(self._hashes)

    def to_hex(self) -> list[str]:
        """The frontier hashes as lowercase hex strings, for a database column."""
        return [h.hex() for h in self._hashes]

    def append(self, leaf: bytes) -> list[Node]:
        """Append a leaf hash in O(log size); return the nodes it completes, leaf first."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        index = self._size
        completed = [Node(0, index, leaf)]
        current, level = leaf, 0
        # Each trailing one bit of the old size is a same-sized left sibling that now merges.
        while (index >> level) & 1:
            current = node_hash(self._hashes.pop(), current)
            level += 1
            completed.append(Node(level, index >> level, current))
        self._hashes.append(current)
        self._size += 1
        return completed

    def extend(self, leaves: Sequence[bytes]) -> list[Node]:
        """Append many leaf hashes at once; return every node they complete, each exactly once.

        The batch form of `append` (same frontier, same set of nodes), computed bottom-up one
        level at a time with the pairing step of `root_hash`: at each level the new nodes are
        paired, the frontier's node of that level joins in front when the first new node is a
        right child, and an unpaired last node becomes the new frontier's node of that level.
        Nodes are returned level by level, level 0 (the leaves themselves) first.
        """
        if any(len(leaf) != HASH_SIZE for leaf in leaves):
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        old: dict[int, bytes] = {}
        position = 0
        for level in range(self._size.bit_length() - 1, -1, -1):
            if (self._size >> level) & 1:
                old[level] = self._hashes[position]
                position += 1
        new: dict[int, bytes] = {}
        completed: list[Node] = []
        nodes, start, level = list(leaves), self._size, 0
        while nodes:
            completed.extend(Node(level, start + i, h) for i, h in enumerate(nodes))
            if start & 1:  # the first new node is a right child: its left sibling is frontier
                nodes.insert(0, old.pop(level))
                start -= 1
            if len(nodes) & 1:
                new[level] = nodes[-1]
            nodes, start, level = _parents(nodes), start >> 1, level + 1
        new.update(old)  # frontier nodes above the levels the batch reached stay as they were
        self._size += len(leaves)
        self._hashes = [new[lv] for lv in sorted(new, reverse=True)]
        return completed

    def root(self) -> bytes:
        """MTH of leaves [0, size): the right fold of the frontier; EMPTY_ROOT when empty."""
        return _fold(self._hashes)

    def copy(self) -> CompactRange:
        """An independent frontier with the same state."""
        return CompactRange(self._size, self._hashes)

    def __eq__(self, other: object) -> bool:
        """Equal iff same size and same frontier hashes."""
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        """Size and hex hashes, for debugging (hashes are not secret)."""
        return f"CompactRange(size={self._size}, hashes={self.to_hex()!r})"
