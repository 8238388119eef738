"""Inclusion and consistency proofs from stored nodes in O(log n) reads (R-IR-5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db.models import Q

from safeguard.audit import merkle
from safeguard.audit.contracts import ConsistencyProofView, InclusionProofView, ProofUnavailable
from safeguard.audit.models import Event, Node, TreeHead

T = TypeVar("T")


class _Nodes:
    """Stored node lookups for one proof, fetched in two queries instead of one per node.

    A proof's shape depends only on sizes and indices, never on hash values, so a dry run with
    placeholder hashes names every (level, index) it will read; those are fetched at once.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], bytes] = {}
        self._wanted: set[tuple[int, int]] | None = None

    def get_node(self, level: int, index: int) -> bytes:
        if self._wanted is not None:
            self._wanted.add((level, index))
            return bytes(merkle.HASH_SIZE)
        try:
            return self._known[(level, index)]
        except KeyError:
            raise ProofUnavailable(f"Merkle node ({level}, {index}) is missing from storage.") \
                from None

    def get_subtree(self, start: int, end: int) -> bytes:
        return merkle.subtree_root(self.get_node, start, end)

    def run(self, compute: Callable[[_Nodes], T]) -> T:
        """Dry-run ``compute`` to learn its reads, fetch them, then compute for real."""
        self._wanted = set()
        compute(self)
        wanted, self._wanted = self._wanted, None
        leaves = [index + 1 for level, index in wanted if level == 0]
        for seq, leaf in Event.objects.filter(seq__in=leaves).values_list("seq", "leaf_hash"):
            self._known[(0, seq - 1)] = bytes.fromhex(leaf)
        inner = Q()
        for level, index in wanted:
            if level > 0:
                inner |= Q(level=level, index=index)
        if inner:
            for level, index, value in Node.objects.filter(inner).values_list(
                    "level", "index", "hash"):
                self._known[(level, index)] = bytes.fromhex(value)
        return compute(self)


def root_at(size: int) -> bytes:
    """MTH of the first ``size`` events, from stored nodes."""
    return _Nodes().run(lambda nodes: nodes.get_subtree(0, size))


def inclusion_path(index: int, size: int) -> list[bytes]:
    return _Nodes().run(lambda nodes: merkle.inclusion_proof_from(nodes.get_subtree, index, size))


def consistency_path(old_size: int, new_size: int) -> list[bytes]:
    return _Nodes().run(
        lambda nodes: merkle.consistency_proof_from(nodes.get_subtree, old_size, new_size))


def _head_size(size: int | None) -> int:
    if size is not None:
        return size
    head = TreeHead.objects.order_by("-size", "-id").first()
    if head is None:
        raise ProofUnavailable("No signed tree head yet: run `safeguard audit head`.")
    return head.size


def inclusion(*, seq: int, size: int | None = None) -> InclusionProofView:
    """Proof that event ``seq`` is in the tree of ``size`` (default: the latest signed head)."""
    tree_size = _head_size(size)
    if not 1 <= seq <= tree_size:
        raise ProofUnavailable(f"Event {seq} is not within a tree of size {tree_size}.")
    if not Event.objects.filter(seq__gte=tree_size).exists():
        raise ProofUnavailable(f"The log is smaller than {tree_size}.")
    leaf = _Nodes().run(lambda nodes: nodes.get_node(0, seq - 1))
    return InclusionProofView(seq=seq, leaf_index=seq - 1, leaf_hash=leaf.hex(),
                              tree_size=tree_size, root_hash=root_at(tree_size).hex(),
                              path=[h.hex() for h in inclusion_path(seq - 1, tree_size)])


def consistency(*, first: int, second: int) -> ConsistencyProofView:
    """Proof that the tree of size ``first`` is a prefix of the tree of size ``second``."""
    if not 0 < first <= second:
        raise ProofUnavailable("Sizes must satisfy 0 < first <= second.")
    if not Event.objects.filter(seq__gte=second).exists():
        raise ProofUnavailable(f"The log is smaller than {second}.")
    return ConsistencyProofView(first_size=first, second_size=second,
                                first_root=root_at(first).hex(),
                                second_root=root_at(second).hex(),
                                path=[h.hex() for h in consistency_path(first, second)])
