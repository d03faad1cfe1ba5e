"""The delivery section: where bags are handed to libraries, by name.

``delivery:`` is a list of destinations, each ``kind: directory`` (``path``, relative to the manifest's
directory unless absolute: a mounted share) or ``kind: s3`` (``bucket``, and ``prefix``, ``endpoint_url``,
``region``, ``storage_class``, ``profile`` naming an AWS profile). ``name`` picks one for
``cablekeep deliver --to NAME``; it defaults to the kind, and names are unique.

Credentials never belong in a manifest (it is copied into every bag): a key that holds one
(``aws_secret_access_key``, ``access_key``, ``password``, ...) is an error that says to use the
environment or a named AWS profile instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from .keys import Section, check_keys
from .model import DeliveryTarget
from .reader import Node, Skip, join
from .values import ValueReader

_CREDENTIAL_RE = re.compile(r"secret|password|passwd|access_?key|session_?token|credential|^token$|api_?key", re.I)
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
KINDS = ("directory", "s3")


def is_credential_key(name: str) -> bool:
    """True for a key that would hold a secret (access keys, secrets, passwords, tokens)."""
    return bool(_CREDENTIAL_RE.search(name))


def read_delivery(reader: ValueReader, root: Section) -> tuple[tuple[Mapping[str, object], ...], tuple[DeliveryTarget, ...]]:
    """(the destinations as written, the checked destinations)."""
    node = root.node("delivery")
    if node is None:
        return (), ()
    try:
        items = reader.items(node, "delivery")
    except Skip:
        return (), ()
    raw: list[Mapping[str, object]] = []
    targets: list[DeliveryTarget] = []
    seen: dict[str, str] = {}
    for item, key in items:
        mapping = reader.attempt(lambda: reader.raw_mapping(item, key), None)
        if mapping is None:
            continue
        raw.append(mapping)
        target = reader.attempt(lambda: _read_target(reader, item, key), None)
        if target is None:
            continue
        if target.name in seen:
            reader.report(item, join(key, "name"), f"{target.name!r} names {seen[target.name]} too; give each "
                          "destination its own name")
            continue
        seen[target.name] = key
        targets.append(target)
    return tuple(raw), tuple(targets)


def _read_target(reader: ValueReader, node: Node, key: str) -> DeliveryTarget:
    fields = reader.fields(node, key)
    secrets = [name for name in fields if is_credential_key(name)]
    for name in secrets:
        reader.report(fields[name][0], join(key, name), "credentials never go in a manifest (it is copied into "
                      "every bag): remove it, and give them in the environment (AWS_ACCESS_KEY_ID, "
                      "AWS_SECRET_ACCESS_KEY) or name an AWS profile with 'profile:'")
    section = check_keys(reader, node, key, {n: v for n, v in fields.items() if n not in secrets}, "delivery[]",
                         required=("kind",))
    kind_node = section.node("kind")
    if kind_node is None:
        raise Skip
    kind = reader.choice(kind_node, section.key_of("kind"), KINDS)
    name = section.get("name", kind, _name(reader))
    optional = reader.non_empty_line
    if kind == "directory":
        for other in ("bucket", "prefix", "endpoint_url", "region", "storage_class", "profile"):
            if section.node(other) is not None:
                reader.report(section.node(other), section.key_of(other), f"is for kind: s3; a directory "
                              "destination has only name and path")
        if section.node("path") is None:
            reader.fail(node, section.key_of("path"), "a directory destination needs path: the folder (a "
                        "mounted share) bags are copied into")
        path = section.get("path", "", reader.non_empty_line)
        return DeliveryTarget(name, "directory", path=reader.base_dir / path)
    if section.node("path") is not None:
        reader.report(section.node("path"), section.key_of("path"), "is for kind: directory; an s3 destination "
                      "has bucket and prefix")
    if section.node("bucket") is None:
        reader.fail(node, section.key_of("bucket"), "an s3 destination needs bucket: the bucket's name")
    return DeliveryTarget(
        name,
        "s3",
        bucket=section.get("bucket", "", _bucket(reader)),
        prefix=section.get("prefix", "", reader.line_of_text),
        endpoint_url=section.get("endpoint_url", None, _endpoint(reader)),
        region=section.get("region", None, optional),
        storage_class=section.get("storage_class", None, optional),
        profile=section.get("profile", None, optional),
    )


def _name(reader: ValueReader) -> Callable[[Node, str], str]:
    def read(node: Node, key: str) -> str:
        name = reader.non_empty_line(node, key)
        if name.startswith("-") or any(c.isspace() for c in name):
            reader.fail(node, key, f"{name!r} cannot be given to --to: use letters, digits, '-' and '_'")
        return name

    return read


def _bucket(reader: ValueReader) -> Callable[[Node, str], str]:
    def read(node: Node, key: str) -> str:
        bucket = reader.non_empty_line(node, key)
        if not _BUCKET_RE.fullmatch(bucket):
            hint = "; write the bucket alone and put the folder in prefix" if "/" in bucket else ""
            reader.fail(node, key, f"{bucket!r} is not a bucket name (3-63 lower-case letters, digits, dots, "
                        f"hyphens){hint}")
        return bucket

    return read


def _endpoint(reader: ValueReader) -> Callable[[Node, str], str]:
    def read(node: Node, key: str) -> str:
        url = reader.non_empty_line(node, key)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            reader.fail(node, key, f"{url!r} is not an http(s) URL such as https://s3.example.org")
        if parts.username or parts.password:
            reader.fail(node, key, "credentials never go in a manifest: remove them from the URL and give them in "
                        "the environment or a named AWS profile")
        return url

    return read
