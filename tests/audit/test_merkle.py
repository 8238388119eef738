"""Merkle core (R-IR-5): RFC 9162 2.1 against a naive reference, pymerkle and published vectors."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from safeguard.audit import merkle

# --- naive reference: RFC 9162 2.1 transcribed literally, sharing no code with merkle.py -------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """Largest power of two strictly smaller than n, by counting up as the RFC words it."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# --- strategies and helpers ------------------------------------------------------------------

MAX_SIZE = 200


@st.composite
def distinct_logs(draw: st.DrawFn, min_size: int = 1) -> list[bytes]:
    """Logs of distinct entries, so a proof for one position cannot honestly fit another."""
    size = draw(st.integers(min_value=min_size, max_value=MAX_SIZE))
    salt = draw(st.binary(max_size=8))
    return [salt + i.to_bytes(2, "big") for i in range(size)]


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    """`data` with the byte at `position` (mod its length) xor-ed with `mask`."""
    position %= len(data)
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


def prefix_roots(entries: Sequence[bytes]) -> list[bytes]:
    """MTH of every prefix, index = prefix length, computed once by the frontier."""
    frontier = merkle.CompactRange()
    roots = [frontier.root()]
    for entry in entries:
        frontier.append(merkle.leaf_hash(entry))
        roots.append(frontier.root())
    return roots


class NodeStore:
    """What the log's database keeps: complete aligned nodes by (level, index), counting reads."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def put(self, completed: Sequence[merkle.Node]) -> None:
        for node in completed:
            assert (node.level, node.index) not in self.nodes
            self.nodes[node.level, node.index] = node.hash

    def get_node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.nodes[level, index]

    def get_subtree(self, start: int, end: int) -> bytes:
        return merkle.subtree_root(self.get_node, start, end)


def store_of(entries: Sequence[bytes]) -> NodeStore:
    store = NodeStore()
    frontier = merkle.CompactRange()
    for entry in entries:
        store.put(frontier.append(merkle.leaf_hash(entry)))
    return store


def ceil_log2(n: int) -> int:
    return (n - 1).bit_length() if n > 0 else 0


# --- hashing and roots ------------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_the_empty_string() -> None:
    # given no entries / when hashing / then MTH({}) = SHA-256()
    assert merkle.root_hash([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.root_hash([]) == merkle.EMPTY_ROOT
    assert merkle.CompactRange().root() == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # given an entry and two children
    left, right = b"L" * 32, b"R" * 32
    # when hashed / then leaves get 0x00, interior nodes 0x01, so neither can pose as the other
    assert merkle.leaf_hash(b"entry") == _sha256(b"\x00entry")
    assert merkle.node_hash(left, right) == _sha256(b"\x01" + left + right)
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_certificate_transparency_reference_tree(size: int) -> None:
    # given the 8-leaf test tree of the CT reference implementation (used by the vectors too)
    entries = RFC6962_LEAVES[:size]
    # when / then both the direct and the incremental root give the published value
    assert merkle.root_hash(entries).hex() == RFC6962_ROOTS[size - 1]
    assert prefix_roots(entries)[size].hex() == RFC6962_ROOTS[size - 1]


@settings(deadline=None)
@given(entries=st.lists(st.binary(max_size=40), max_size=MAX_SIZE))
def test_root_hash_matches_the_naive_reference(entries: list[bytes]) -> None:
    # given arbitrary entries, duplicates and empty ones included / when / then
    assert merkle.root_hash(entries) == ref_mth(entries)


@settings(deadline=None)
@given(entries=st.lists(st.binary(max_size=16), max_size=MAX_SIZE))
def test_roots_match_pymerkle_for_every_prefix(entries: list[bytes]) -> None:
    # given the same entries in pymerkle (RFC 9162 roots; its proof encoding differs, not compared)
    tree = InmemoryTree(algorithm="sha256")
    for entry in entries:
        tree.append_entry(entry)
    # when every prefix root is taken from both
    ours = prefix_roots(entries)
    # then they agree, the empty tree included
    assert [tree.get_root(size) for size in range(len(entries) + 1)] == ours


# --- inclusion --------------------------------------------------------------------------------


@settings(deadline=None)
@given(data=st.data(), entries=distinct_logs())
def test_inclusion_proof_matches_reference_and_verifies(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # given a log and a position in it
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    root = merkle.root_hash(entries)
    # when the proof is built
    proof = merkle.inclusion_proof(entries, index)
    # then it is RFC 9162 PATH, of the right length, and both verifiers accept it
    assert proof == ref_path(index, entries)
    assert len(proof) <= ceil_log2(len(entries))
    assert merkle.verify_inclusion(entries[index], index, len(entries), proof, root)
    assert merkle.verify_inclusion_leaf(
        merkle.leaf_hash(entries[index]), index, len(entries), proof, root
    )


@settings(deadline=None)
@given(data=st.data(), entries=distinct_logs())
def test_inclusion_verification_rejects_every_tampering(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # given a valid inclusion proof in a tree that is a prefix of a longer log
    size = data.draw(st.integers(1, len(entries)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    roots = prefix_roots(entries)
    entry, root = entries[index], roots[size]
    proof = merkle.inclusion_proof(entries[:size], index)
    byte = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")

    def accepts(
        e: bytes = entry, i: int = index, n: int = size, p: Sequence[bytes] = proof, r: bytes = root
    ) -> bool:
        return merkle.verify_inclusion(e, i, n, p, r)

    assert accepts()
    # when any single proof element has a byte flipped / then it is rejected
    for position in range(len(proof)):
        tampered = [*proof[:position], flip(proof[position], byte, mask), *proof[position + 1 :]]
        assert not accepts(p=tampered)
    # when the root, the entry, or the proof's length changes / then it is rejected
    assert not accepts(r=flip(root, byte, mask))
    assert not accepts(e=entry + b"x")
    assert not accepts(p=[*proof, merkle.leaf_hash(b"extra")])
    assert not accepts(p=[merkle.leaf_hash(b"extra"), *proof])
    if proof:
        assert not accepts(p=proof[:-1])
        assert not accepts(p=proof[1:])
        assert not accepts(p=[*proof[:-1], proof[-1][:31]])
    # when the proof is claimed for any other position, or any other entry / then it is rejected
    for other in range(size):
        if other != index:
            assert not accepts(i=other)
            assert not accepts(e=entries[other])
    assert not accepts(i=size)
    assert not accepts(i=-1)
    # when checked against any other size with that size's own root / then it is rejected
    for other_size in range(index + 1, len(entries) + 1):
        if other_size != size:
            assert not accepts(n=other_size, r=roots[other_size])
    assert not accepts(n=0)


def test_size_is_bound_by_the_signed_checkpoint_not_by_the_proof() -> None:
    # given the proof for leaf 0 of a 4-leaf tree
    entries = [b"a", b"b", b"c", b"d"]
    proof, root4 = merkle.inclusion_proof(entries, 0), merkle.root_hash(entries)
    # when it is checked as size 3 against the size-4 root
    accepted = merkle.verify_inclusion(b"a", 0, 3, proof, root4)
    # then RFC 9162 accepts it (sizes 3 and 4 give leaf 0 the same path shape), so an auditor
    # must take size and root from one signed checkpoint; with size 3's own root it fails
    assert accepted
    assert not merkle.verify_inclusion(b"a", 0, 3, proof, merkle.root_hash(entries[:3]))


def test_inclusion_proof_refuses_positions_outside_the_tree() -> None:
    # given three entries / when asking outside [0, 3) / then ValueError, not a bogus proof
    for index in (-1, 3):
        with pytest.raises(ValueError, match="outside"):
            merkle.inclusion_proof([b"a", b"b", b"c"], index)
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_proof([], 0)


# --- consistency ------------------------------------------------------------------------------


@settings(deadline=None)
@given(data=st.data(), entries=distinct_logs())
def test_consistency_proof_matches_reference_and_verifies(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # given a log and an earlier size of it
    new_size = len(entries)
    old_size = data.draw(st.integers(1, new_size), label="old_size")
    old_root, new_root = merkle.root_hash(entries[:old_size]), merkle.root_hash(entries)
    # when the proof is built
    proof = merkle.consistency_proof(entries, old_size)
    # then it is RFC 9162 PROOF ([] for equal sizes) and the verifier accepts it
    assert proof == (ref_proof(old_size, entries) if old_size < new_size else [])
    assert len(proof) <= ceil_log2(new_size) + 1
    assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)


@settings(deadline=None)
@given(data=st.data(), entries=distinct_logs(min_size=2))
def test_consistency_verification_rejects_every_tampering(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # given a valid proof that a strictly smaller tree is a prefix of a larger one
    roots = prefix_roots(entries)
    new_size = data.draw(st.integers(2, len(entries)), label="new_size")
    old_size = data.draw(st.integers(1, new_size - 1), label="old_size")
    proof = merkle.consistency_proof(entries[:new_size], old_size)
    byte = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")

    def accepts(
        m: int = old_size,
        n: int = new_size,
        r1: bytes = roots[old_size],
        r2: bytes = roots[new_size],
        p: Sequence[bytes] = proof,
    ) -> bool:
        return merkle.verify_consistency(m, n, r1, r2, p)

    assert accepts()
    # when any proof element has a byte flipped / then it is rejected
    for position in range(len(proof)):
        tampered = [*proof[:position], flip(proof[position], byte, mask), *proof[position + 1 :]]
        assert not accepts(p=tampered)
    # when either root changes, the roots swap, or the proof is cut, padded or emptied
    assert not accepts(r1=flip(roots[old_size], byte, mask))
    assert not accepts(r2=flip(roots[new_size], byte, mask))
    assert not accepts(r1=roots[new_size], r2=roots[old_size])
    assert not accepts(p=proof[:-1])
    assert not accepts(p=proof[1:])
    assert not accepts(p=[*proof, roots[old_size]])
    assert not accepts(p=[roots[old_size], *proof])
    assert not accepts(p=[])
    # when claimed for any other old or new size, with that size's own root / then rejected
    for other in range(1, len(entries) + 1):
        if other != old_size and other <= new_size:
            assert not accepts(m=other, r1=roots[other])
        if other != new_size and other >= old_size:
            assert not accepts(n=other, r2=roots[other])
    assert not accepts(m=0, r1=merkle.EMPTY_ROOT)
    assert not accepts(m=new_size + 1)


def test_consistency_edge_sizes_follow_rfc_9162() -> None:
    # given a three-entry log
    entries = [b"a", b"b", b"c"]
    root = merkle.root_hash(entries)
    # when sizes are equal / then the proof is empty and only equal roots verify
    assert merkle.consistency_proof(entries, 3) == []
    assert merkle.verify_consistency(3, 3, root, root, [])
    assert not merkle.verify_consistency(3, 3, root, flip(root, 0), [])
    assert not merkle.verify_consistency(3, 3, root, root, [root])
    assert merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 0, root, root, [])
    # when the old size is 0 below a larger tree or exceeds the new size / then refused
    assert not merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, root, [])
    assert not merkle.verify_consistency(4, 3, root, root, [])
    for old_size in (0, 4, -1):
        with pytest.raises(ValueError, match="no consistency proof"):
            merkle.consistency_proof(entries, old_size)
    assert merkle.consistency_proof([], 0) == []


# --- incremental forms: frontier, node store, proofs from a lookup -----------------------------


@settings(deadline=None)
@given(entries=st.lists(st.binary(max_size=8), max_size=MAX_SIZE))
def test_frontier_root_equals_root_hash_for_every_prefix(entries: list[bytes]) -> None:
    # given an empty frontier and the nodes each append reports
    frontier = merkle.CompactRange()
    completed: list[merkle.Node] = []
    for size, entry in enumerate(entries, start=1):
        # when one leaf is appended
        completed += frontier.append(merkle.leaf_hash(entry))
        # then the root is MTH of the prefix, the frontier has one hash per set bit of the
        # size, and it survives a round trip through hex strings
        assert frontier.root() == ref_mth(entries[:size])
        assert frontier.size == size
        assert len(frontier.hashes) == size.bit_count()
        assert merkle.CompactRange.from_hex(size, frontier.to_hex()) == frontier
    # then every complete aligned node was reported exactly once, with the MTH of its range
    expected = {
        (level, index)
        for level in range(len(entries).bit_length())
        for index in range(len(entries) >> level)
    }
    assert {(node.level, node.index) for node in completed} == expected
    assert len(completed) == len(expected)
    for node in completed:
        start = node.index << node.level
        assert node.hash == ref_mth(entries[start : start + (1 << node.level)])


@settings(deadline=None)
@given(data=st.data(), entries=st.lists(st.binary(max_size=8), max_size=MAX_SIZE))
def test_extend_is_a_batch_of_appends(data: st.DataObject, entries: list[bytes]) -> None:
    """The integrator's batch path (issue 10): `extend` leaves the same frontier and reports
    the same nodes, each once, as one `append` per leaf, from any starting size."""
    # given a log of a random size split into random batches
    cuts = sorted(data.draw(st.lists(st.integers(0, len(entries)), max_size=5)))
    bounds = [0, *cuts, len(entries)]
    leaves = merkle.leaf_hashes(entries)
    assert leaves == [merkle.leaf_hash(e) for e in entries]
    batched, one_by_one = merkle.CompactRange(), merkle.CompactRange()
    for start, end in itertools.pairwise(bounds):
        # when a batch is extended, and the same leaves appended one at a time
        got = batched.extend(leaves[start:end])
        want = [node for leaf in leaves[start:end] for node in one_by_one.append(leaf)]
        # then both report the same nodes and reach the same frontier and root
        assert sorted(got, key=lambda n: (n.level, n.index)) == sorted(
            want, key=lambda n: (n.level, n.index))
        assert batched == one_by_one
        assert batched.root() == ref_mth(entries[:end])


def test_extend_refuses_a_malformed_leaf() -> None:
    frontier = merkle.CompactRange()
    with pytest.raises(ValueError, match="32 bytes"):
        frontier.extend([bytes(32), bytes(31)])
    assert frontier.size == 0


def test_frontier_rejects_malformed_state() -> None:
    # given the state of a 3-leaf log (two hashes) / when restored wrongly / then ValueError
    hashes = merkle.CompactRange.from_leaf_hashes([merkle.leaf_hash(b"x")] * 3).to_hex()
    assert len(hashes) == 2
    with pytest.raises(ValueError, match="cannot hold"):
        merkle.CompactRange.from_hex(4, hashes)
    with pytest.raises(ValueError, match="cannot hold"):
        merkle.CompactRange.from_hex(-1, [])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.CompactRange.from_hex(1, ["00" * 31])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.CompactRange().append(b"short")


@settings(deadline=None)
@given(entries=distinct_logs())
def test_proofs_from_stored_nodes_equal_direct_proofs_in_log_reads(entries: list[bytes]) -> None:
    # given a store filled only by what the frontier reported, as the log's database is
    store = store_of(entries)
    size = len(entries)
    bound = 2 * ceil_log2(size)
    for index in range(size):
        # when an inclusion proof is computed through node lookups
        store.reads = 0
        proof = merkle.inclusion_proof_from(store.get_subtree, index, size)
        # then it equals the direct proof and cost O(log n) reads
        assert proof == ref_path(index, entries)
        assert store.reads <= bound
    for old_size in range(1, size + 1):
        # when a consistency proof is computed through node lookups / then the same holds
        store.reads = 0
        proof = merkle.consistency_proof_from(store.get_subtree, old_size, size)
        assert proof == merkle.consistency_proof(entries, old_size)
        assert store.reads <= bound


@settings(deadline=None)
@given(data=st.data(), entries=distinct_logs())
def test_historical_proofs_come_from_the_same_store(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # given the store of a grown log and an older checkpoint size
    store = store_of(entries)
    size = data.draw(st.integers(1, len(entries)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    # when proofs for the older size are asked of the newer store / then they match that size
    assert merkle.subtree_root(store.get_node, 0, size) == ref_mth(entries[:size])
    assert merkle.inclusion_proof_from(store.get_subtree, index, size) == ref_path(
        index, entries[:size]
    )


def test_subtree_root_reads_only_aligned_nodes_and_refuses_unaligned_ranges() -> None:
    # given a 13-leaf store
    entries = [bytes([i]) for i in range(13)]
    store = store_of(entries)
    # when asked for the right edge [8, 13) = nodes (2, 2) and (0, 12) / then two reads
    store.reads = 0
    assert merkle.subtree_root(store.get_node, 8, 13) == ref_mth(entries[8:13])
    assert store.reads == 2
    # when asked for an empty range / then the empty root with no read
    assert merkle.subtree_root(store.get_node, 5, 5) == merkle.EMPTY_ROOT
    # when a range re-pairs leaves across node boundaries / then ValueError
    for start, end in ((1, 3), (2, 6), (4, 9), (3, 2), (-1, 1)):
        with pytest.raises(ValueError, match="range"):
            merkle.subtree_root(store.get_node, start, end)


# --- published vectors (transparency-dev/merkle testdata, read in place) -----------------------

# Read in place from the shared checkout beside the repository (or SAFEGUARD_TESTDATA, for a clone
# elsewhere, e.g. CI's); never copied into the project.
def _testdata_root() -> Path:
    configured = os.environ.get("SAFEGUARD_TESTDATA")
    if configured:
        return Path(configured)
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
    return beside if beside.is_dir() else Path("/work/shared/testdata")


VECTORS = _testdata_root() / "transparency-dev-merkle"


def _vector_files(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).glob("**/*.json")) if VECTORS.is_dir() else []
    if not files:
        reason = f"vectors absent: {VECTORS / kind}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    return [pytest.param(path, id=str(path.relative_to(VECTORS / kind))) for path in files]


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    return [_b64(value) for value in values or []]


@pytest.mark.parametrize("path", _vector_files("inclusion"))
def test_published_inclusion_vectors(path: Path) -> None:
    # given one published case (happy path, or one corruption of it)
    case = _load(path)
    # when verified from the leaf hash, as a third-party auditor would
    ok = merkle.verify_inclusion_leaf(
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        _b64_list(case["proof"]),
        _b64(case["root"]),
    )
    # then exactly the happy paths verify
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", _vector_files("consistency"))
def test_published_consistency_vectors(path: Path) -> None:
    # given one published case
    case = _load(path)
    # when verified
    ok = merkle.verify_consistency(
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        _b64_list(case["proof"]),
    )
    # then exactly the happy paths verify
    assert ok is not case["wantErr"], case["desc"]


def _happy_paths(kind: str) -> list[Any]:
    return [
        param
        for param in _vector_files(kind)
        if param.values[0] is None
        or (param.values[0].name == "happy-path.json" and param.values[0].parent.name.isdigit())
    ]


@pytest.mark.parametrize("path", _happy_paths("inclusion"))
def test_we_generate_the_published_inclusion_proofs(path: Path) -> None:
    # given a numbered happy path, built over the CT reference leaves
    case = _load(path)
    entries = RFC6962_LEAVES[: case["treeSize"]]
    # when we build the root and proof ourselves / then they are byte-for-byte the published ones
    assert merkle.root_hash(entries) == _b64(case["root"])
    assert merkle.leaf_hash(entries[case["leafIdx"]]) == _b64(case["leafHash"])
    assert merkle.inclusion_proof(entries, case["leafIdx"]) == _b64_list(case["proof"])


@pytest.mark.parametrize("path", _happy_paths("consistency"))
def test_we_generate_the_published_consistency_proofs(path: Path) -> None:
    # given a numbered happy path, built over the CT reference leaves
    case = _load(path)
    entries = RFC6962_LEAVES[: case["size2"]]
    # when we build both roots and the proof / then they are the published ones
    assert merkle.root_hash(entries[: case["size1"]]) == _b64(case["root1"])
    assert merkle.root_hash(entries) == _b64(case["root2"])
    assert merkle.consistency_proof(entries, case["size1"]) == _b64_list(case["proof"])


def test_vector_corpus_is_complete() -> None:
    # given the vector folder
    if not VECTORS.is_dir():
        pytest.skip(f"vectors absent: {VECTORS}")
    # when its cases are counted / then none silently vanished (6 valid ones per kind)
    for kind in ("inclusion", "consistency"):
        cases = [_load(path) for path in (VECTORS / kind).glob("**/*.json")]
        assert len(cases) == 98, kind
        assert sum(not case["wantErr"] for case in cases) == 6, kind
