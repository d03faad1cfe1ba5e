"""The BagIt layout facts that making and checking bags share, written once.

File names (RFC 8493 section 2), the manifest name patterns, the checksum algorithms cablekeep writes
and the ones it can check, cablekeep's own tag file naming earlier bags, and how files are opened:
never through a symbolic link, never inherited by child processes, in blocks of :data:`BLOCK`.
"""

from __future__ import annotations

import hashlib
import os
import re

BAGIT_TXT = "bagit.txt"
BAG_INFO_TXT = "bag-info.txt"
FETCH_TXT = "fetch.txt"
PAYLOAD_DIR = "data"
DEPENDS_FILE = "cablekeep-depends-on.txt"  # tag file naming the earlier bags that revisits point into

MANIFEST_RE = re.compile(r"^manifest-([A-Za-z0-9_-]+)\.txt$")
TAGMANIFEST_RE = re.compile(r"^tagmanifest-([A-Za-z0-9_-]+)\.txt$")

# The algorithms cablekeep writes manifests for (``bag.algorithms``, ``cablekeep bag --algorithm``).
WRITABLE_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
DEFAULT_ALGORITHMS = ("sha512", "sha256")

# BagIt algorithm names (lower case, as in manifest-<alg>.txt) that can be checked, to hashlib names.
HASHLIB_NAMES = {
    "md5": "md5",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha3-224": "sha3_224",
    "sha3-256": "sha3_256",
    "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
    "sha3_224": "sha3_224",
    "sha3_256": "sha3_256",
    "sha3_384": "sha3_384",
    "sha3_512": "sha3_512",
    "blake2b": "blake2b",
    "blake2s": "blake2s",
}

# Reading and writing files: one block size, and open flags that never follow a symbolic link.
BLOCK = 1 << 20
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
READ_FLAGS = os.O_RDONLY | NOFOLLOW | CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC


def hashlib_name(algorithm: str) -> str | None:
    """The hashlib name for a BagIt algorithm name, or None when it cannot be computed here."""
    name = HASHLIB_NAMES.get(algorithm.lower())
    if name is None or name not in hashlib.algorithms_available:
        return None
    return name


def open_nofollow(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor for ``path``; ``OSError`` (ELOOP) when it is a symbolic link."""
    return os.open(path, READ_FLAGS)
