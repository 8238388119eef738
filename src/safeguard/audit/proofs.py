"""Inclusion and consistency proofs from stored nodes in O(log n) reads (R-IR-5)."""

from __future__ import annotations

from safeguard.audit import merkle
from safeguard.audit.contracts import ConsistencyProofView, InclusionProofView, ProofUnavailable
from safeguard.audit.models import Event, Node, TreeHead


def _get_node(level: int, index: int) -> bytes:
    if level == 0:
        row = Event.objects.filter(seq=index + 1).values_list("leaf_hash", flat=True).first()
    else:
        row = Node.objects.filter(level=level, index=index).values_list("hash", flat=True).first()
    if row is None:
        raise ProofUnavailable(f"Merkle node ({level}, {index}) is missing from storage.")
    return bytes.fromhex(row)


def _get_subtree(start: int, end: int) -> bytes:
    return merkle.subtree_root(_get_node, start, end)


def root_at(size: int) -> bytes:
    """MTH of the first ``size`` events, from stored nodes."""
    return _get_subtree(0, size)


def inclusion_path(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof_from(_get_subtree, index, size)


def consistency_path(old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof_from(_get_subtree, old_size, new_size)


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
    leaf = _get_node(0, seq - 1)
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
