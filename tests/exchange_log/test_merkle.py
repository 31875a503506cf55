"""RFC 9162 Merkle tree hashing and proofs: hand-computed trees, every leaf and size up to 40, tampered proofs."""

from __future__ import annotations

import hashlib

import pytest

from gateway.exchange_log import merkle


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _reference_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 section 2.1.1 defines it (recursive split at the largest power of two < n)."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _h(b"\x01" + _reference_mth(leaves[:k]) + _reference_mth(leaves[k:]))


LEAVES = [merkle.leaf_hash(f"d{i}".encode()) for i in range(41)]
# The RFC 9162 section 2.1.5 example tree of seven leaves, node by node.
a, b, c, d, e, f, d6 = LEAVES[:7]
g, h, i, j = _h(b"\x01" + a + b), _h(b"\x01" + c + d), _h(b"\x01" + e + f), d6
k, ll = _h(b"\x01" + g + h), _h(b"\x01" + i + j)
ROOT7 = _h(b"\x01" + k + ll)


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    assert merkle.leaf_hash(b"entry") == _h(b"\x00entry")
    assert merkle.node_hash(a, b) == _h(b"\x01" + a + b)
    assert merkle.root([]) == _h(b"")
    assert merkle.root([a]) == a
    assert merkle.root([a, b, c]) == _h(b"\x01" + _h(b"\x01" + a + b) + c)


def test_the_rfc_example_tree() -> None:
    leaves = LEAVES[:7]
    assert merkle.root(leaves) == ROOT7
    assert merkle.inclusion_proof(leaves, 0) == [b, h, ll]
    assert merkle.inclusion_proof(leaves, 3) == [c, g, ll]
    assert merkle.inclusion_proof(leaves, 4) == [f, j, k]
    assert merkle.inclusion_proof(leaves, 6) == [i, k]
    assert merkle.consistency_proof(leaves, 3) == [c, d, g, ll]
    assert merkle.consistency_proof(leaves, 4) == [ll]
    assert merkle.consistency_proof(leaves, 6) == [i, j, k]


@pytest.mark.parametrize("size", range(1, 41))
def test_streaming_root_equals_the_rfc_definition(size: int) -> None:
    builder = merkle.RootBuilder()
    for leaf in LEAVES[:size]:
        builder.append(leaf)
    assert builder.root() == merkle.root(LEAVES[:size]) == _reference_mth(LEAVES[:size])


@pytest.mark.parametrize("size", range(1, 41))
def test_every_leaf_of_every_tree_up_to_40_proves_inclusion(size: int) -> None:
    leaves = LEAVES[:size]
    root = _reference_mth(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(LEAVES, index, size)
        assert merkle.verify_inclusion(index=index, tree_size=size, leaf=leaves[index], proof=proof, root_hash=root)
        other = LEAVES[(index + 1) % size] if size > 1 else LEAVES[40]
        assert not merkle.verify_inclusion(index=index, tree_size=size, leaf=other, proof=proof, root_hash=root)


@pytest.mark.parametrize("second", range(1, 41))
def test_every_pair_of_sizes_up_to_40_proves_consistency(second: int) -> None:
    second_root = _reference_mth(LEAVES[:second])
    for first in range(1, second + 1):
        proof = merkle.consistency_proof(LEAVES, first, second)
        first_root = _reference_mth(LEAVES[:first])
        assert merkle.verify_consistency(first=first, second=second, first_root=first_root,
                                         second_root=second_root, proof=proof)
        forked = _reference_mth([*LEAVES[:first - 1], LEAVES[40]])  # a different history of the same size
        assert not merkle.verify_consistency(first=first, second=second, first_root=forked,
                                             second_root=second_root, proof=proof)


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_tampered_inclusion_proofs_fail() -> None:
    leaves = LEAVES[:13]
    root, proof = merkle.root(leaves), merkle.inclusion_proof(leaves, 5)
    good = {"index": 5, "tree_size": 13, "leaf": leaves[5], "proof": proof, "root_hash": root}
    assert merkle.verify_inclusion(**good)  # type: ignore[arg-type]
    for position in range(len(proof)):
        bad = [*proof[:position], _flip(proof[position]), *proof[position + 1:]]
        assert not merkle.verify_inclusion(**good | {"proof": bad})  # type: ignore[arg-type]
    # A root does not commit to its size (the signed checkpoint does), so sizes whose path has the same shape
    # (9..16 here) verify too; sizes with another shape must not.
    for change in ({"index": 4}, {"index": 13}, {"tree_size": 8}, {"tree_size": 17}, {"root_hash": _flip(root)},
                   {"proof": proof[:-1]}, {"proof": [*proof, root]}, {"proof": [*proof[:-1], b"short"]}):
        assert not merkle.verify_inclusion(**good | change)  # type: ignore[arg-type]


def test_tampered_consistency_proofs_fail() -> None:
    first_root, second_root = merkle.root(LEAVES[:6]), merkle.root(LEAVES[:23])
    proof = merkle.consistency_proof(LEAVES, 6, 23)
    good = {"first": 6, "second": 23, "first_root": first_root, "second_root": second_root, "proof": proof}
    assert merkle.verify_consistency(**good)  # type: ignore[arg-type]
    for position in range(len(proof)):
        bad = [*proof[:position], _flip(proof[position]), *proof[position + 1:]]
        assert not merkle.verify_consistency(**good | {"proof": bad})  # type: ignore[arg-type]
    for change in ({"first": 7}, {"second": 16}, {"second": 33}, {"first": 0}, {"first": 24},
                   {"second_root": _flip(second_root)},
                   {"proof": proof[:-1]}, {"proof": [*proof, first_root]}, {"proof": []}):
        assert not merkle.verify_consistency(**good | change)  # type: ignore[arg-type]
    assert merkle.verify_consistency(first=6, second=6, first_root=first_root, second_root=first_root, proof=[])
    assert not merkle.verify_consistency(first=6, second=6, first_root=first_root, second_root=second_root,
                                         proof=[])


def test_impossible_proofs_are_refused() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(LEAVES[:4], 4)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(LEAVES[:4], 0, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(LEAVES[:4], 0)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(LEAVES[:4], 3, 5)
