"""Manifest entries packed into one ``bytes`` value each, and the one comparison of found digests.

A bag check holds a map path -> packed entry for every manifest line it read: a bit mask of the
manifests that list the file, then each manifest's raw digest at a fixed offset (zeros where not
listed). About a third of the memory of a dict of hex strings, and cheap to send to a worker.
:func:`compare_found` is the rule "a listed file's checksum must match", written once for every
bag source (a directory's files are compared in the hashing workers, an archive's in the checker).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..bagging.layout import hashlib_name
from .report import Problem


@dataclass(frozen=True)
class Layout:
    """How one kind of manifest (payload or tag) packs an entry into a single ``bytes`` value."""

    manifests: tuple[str, ...]
    algorithms: tuple[str, ...]
    hash_names: tuple[str | None, ...]
    sizes: tuple[int, ...]
    mask_len: int
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, manifests: list[tuple[str, str]]) -> Layout:
        names = tuple(name for name, _ in manifests)
        algorithms = tuple(alg for _, alg in manifests)
        hash_names = tuple(hashlib_name(alg) for alg in algorithms)
        sizes = tuple(0 if h is None else hashlib.new(h).digest_size for h in hash_names)
        mask_len = max(1, (len(manifests) + 7) // 8)
        offsets = []
        offset = mask_len
        for size in sizes:
            offsets.append(offset)
            offset += size
        return cls(names, algorithms, hash_names, sizes, mask_len, tuple(offsets))

    def listed(self, packed: bytes, index: int) -> bool:
        return bool(packed[index // 8] & (1 << (index % 8)))

    def digest(self, packed: bytes, index: int) -> bytes:
        offset = self.offsets[index]
        return packed[offset : offset + self.sizes[index]]

    def empty(self) -> bytes:
        """An entry no manifest lists (yet)."""
        return bytes(self.mask_len + sum(self.sizes))

    def put(self, packed: bytes | None, index: int, digest: bytes) -> bytes:
        """``packed`` with manifest ``index`` listing the file with ``digest``."""
        if packed is None:
            if len(self.sizes) == 1:  # the common case: one payload manifest
                return b"\x01" + digest
            packed = self.empty()
        mask = int.from_bytes(packed[: self.mask_len], "little") | (1 << index)
        offset = self.offsets[index]
        return b"".join(
            (
                mask.to_bytes(self.mask_len, "little"),
                packed[self.mask_len : offset],
                digest,
                packed[offset + self.sizes[index] :],
            )
        )

    def listing(self, packed: bytes) -> list[str]:
        return [name for index, name in enumerate(self.manifests) if self.listed(packed, index)]

    def wanted(self, packed: bytes) -> list[str]:
        """The computable algorithms whose manifests list the file."""
        return [
            self.algorithms[index]
            for index in range(len(self.manifests))
            if self.hash_names[index] is not None and self.listed(packed, index)
        ]


def compare_found(
    rel: str, layout: Layout, packed: bytes, found: Sequence[bytes | None], *, tag_file: bool
) -> list[Problem]:
    """Every listed checksum of ``rel`` against what it hashed to (``found``: one per manifest of
    ``layout``, ``None`` where not computed)."""
    problems: list[Problem] = []
    for index, digest in enumerate(found):
        if layout.hash_names[index] is None or not layout.listed(packed, index):
            continue
        algorithm = layout.algorithms[index]
        if digest is None:
            problems.append(Problem.not_checked(
                rel, f"the {algorithm} checksum could not be computed; it was not verified.", algorithm=algorithm
            ))
            continue
        expected = layout.digest(packed, index)
        if digest != expected:
            problems.append(
                Problem.checksum_mismatch(rel, algorithm, layout.manifests[index], expected, digest, tag_file=tag_file)
            )
    return problems
