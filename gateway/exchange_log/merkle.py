"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs: pure functions over leaf hashes.

Leaves are the log's stored leaf hashes `SHA-256(0x00 || entry)`; interior nodes are `SHA-256(0x01 || left ||
right)`. Generation follows RFC 9162 section 2.1 (MTH, PATH, PROOF) literally, recursing on index ranges rather
than copying slices; verification follows the bit-walking algorithms of sections 2.1.3.2 and 2.1.4.2, so a
verifier needs only the proof, never the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


class ProofError(ValueError):
    """Arguments that no proof can exist for (index or sizes out of range)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class RootBuilder:
    """Streaming MTH: append leaves one by one and read the root of the tree so far at any size.

    Keeps only the roots of the perfect subtrees (at most log2(n) hashes), so a verifier can stream a log of
    any length and compare roots at several checkpoint sizes in one pass.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
        self.size = 0

    def append(self, leaf: bytes) -> None:
        height, current = 0, leaf
        stack = self._stack
        while stack and stack[-1][0] == height:
            current = node_hash(stack.pop()[1], current)
            height += 1
        stack.append((height, current))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        current = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            current = node_hash(left, current)
        return current


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of all the given leaf hashes."""
    builder = RootBuilder()
    for leaf in leaves:
        builder.append(leaf)
    return builder.root()


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    builder = RootBuilder()
    for index in range(start, end):
        builder.append(leaves[index])
    return builder.root()


def inclusion_proof(leaves: Sequence[bytes], index: int, tree_size: int | None = None) -> list[bytes]:
    """PATH(m, D[n]): the audit path for leaf `index` in the tree of the first `tree_size` leaves."""
    n = len(leaves) if tree_size is None else tree_size
    if not 0 <= index < n <= len(leaves):
        raise ProofError("leaf index must be below the tree size, and the tree size at most the log size")
    return _path(leaves, index, 0, n)


def _path(leaves: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(leaves, m, start, start + k), _mth(leaves, start + k, end)]
    return [*_path(leaves, m - k, start + k, end), _mth(leaves, start, start + k)]


def consistency_proof(leaves: Sequence[bytes], first: int, second: int | None = None) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of the tree of `second` leaves."""
    n = len(leaves) if second is None else second
    if not 0 < first <= n <= len(leaves):
        raise ProofError("consistency needs 0 < first <= second <= log size")
    return _subproof(leaves, first, 0, n, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [_mth(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, start, start + k, complete=complete), _mth(leaves, start + k, end)]
    return [*_subproof(leaves, m - k, start + k, end, complete=False), _mth(leaves, start, start + k)]


def verify_inclusion(*, index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does `proof` show `leaf` at `index` in the tree with `root_hash`?"""
    if not 0 <= index < tree_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(*, first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of size `first` a prefix of the tree of size `second`?"""
    if not 0 < first <= second or any(len(p) != HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
