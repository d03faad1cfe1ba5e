"""BagIt Profiles: loading a profile (checking the profile itself), and checking a bag against it.

The format is the BagIt Profiles Specification's JSON, versions 1.1.0 to 1.4.0
(https://bagit-profiles.github.io/bagit-profiles-specification/; field names from
bagit-profiles/bagit-profiles-specification index.html at 1.4.0): ``BagIt-Profile-Info``, ``Bag-Info``
(``required``, ``values``, ``repeatable``, ``description`` per tag), ``Manifests-Required``/``-Allowed``,
``Tag-Manifests-Required``/``-Allowed``, ``Tag-Files-Required``/``-Allowed``,
``Payload-Files-Required``/``-Allowed`` (1.4.0), ``Allow-Fetch.txt``, ``Fetch.txt-Required``,
``Data-Empty``, ``Serialization``, ``Accept-Serialization`` and ``Accept-BagIt-Version``.

The specification can only describe tags of bag-info.txt, and not the rule that a tar's single folder
is named like the tar; APTrust needs both (its DART profiles say ``tags`` with a ``tagFile`` and
``tarDirMustMatchName``: APTrust/preservation-services profiles/aptrust-v2.2.json). Two namespaced
fields carry them here: ``cablekeep:Tag-File-Tags`` (tag file name -> tag definitions shaped like
``Bag-Info``) and ``cablekeep:Folder-Must-Match-Name``. Any other field with a colon is another tool's
extension and ignored; a field without one that the specification does not define is a fault (a
misspelt ``Manifest-Required`` would otherwise require nothing).

Built-in profiles are package data (``profiles/<name>.json``): ``aptrust`` and ``btr``.

Checking a bag collects every violation (:class:`ProfileReport`), one small rule each, over a
:class:`~cablekeep.handoff.contents.BagContents`, so a directory, a tar and a zip are checked alike,
and :func:`check_before_bagging` runs the same rules over the bag that bagging is about to write.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..bagging.layout import (
    BAG_INFO_TXT,
    BAGIT_TXT,
    FETCH_TXT,
    MANIFEST_RE,
    PAYLOAD_DIR,
    TAGMANIFEST_RE,
    WRITABLE_ALGORITHMS,
)
from ..errors import ProfileError, UsageError
from ..fixity.tagfiles import parse_bag_info, parse_declaration, python_codec, split_lines
from .contents import BagContents, Structure, read_bag_contents

SPEC_VERSIONS = ("1.1.0", "1.2.0", "1.3.0", "1.4.0")
BUILTIN_PROFILES = ("aptrust", "btr")
PROFILE_IDENTIFIER_TAG = "BagIt-Profile-Identifier"

# MIME types of Accept-Serialization that name each format cablekeep writes and reads.
MIME_TYPES = {
    "tar": ("application/tar", "application/x-tar"),
    "tar.gz": ("application/gzip", "application/x-gzip", "application/tar+gzip", "application/x-gtar"),
    "zip": ("application/zip", "application/x-zip-compressed"),
}

# Labels cablekeep's bagging writes into bag-info.txt itself (cablekeep.bagging.build._write_bag_info):
# present in every bag it makes, with values known only once the payload is hashed.
BAGGER_TAGS = ("Bagging-Date", "External-Identifier", "Payload-Oxum", "Bag-Size", "Bag-Software-Agent")

_INFO_REQUIRED = ("Source-Organization", "External-Description", "Version", PROFILE_IDENTIFIER_TAG)
_TAG_KEYS = {"required", "values", "repeatable", "description", "recommended"}
_LISTS = (
    "Manifests-Required",
    "Manifests-Allowed",
    "Tag-Manifests-Required",
    "Tag-Manifests-Allowed",
    "Tag-Files-Required",
    "Tag-Files-Allowed",
    "Payload-Files-Required",
    "Payload-Files-Allowed",
    "Accept-Serialization",
    "Accept-BagIt-Version",
)
_BOOLS = {"Allow-Fetch.txt": True, "Fetch.txt-Required": False, "Data-Empty": False}
_EXT_TAG_FILES = "cablekeep:Tag-File-Tags"
_EXT_FOLDER = "cablekeep:Folder-Must-Match-Name"
_EXT_DEFAULT = "cablekeep:default"  # in a tag definition: its default value
_KNOWN = {"BagIt-Profile-Info", "Bag-Info", "Serialization", *_LISTS, *_BOOLS, _EXT_TAG_FILES, _EXT_FOLDER}
_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")


# --------------------------------------------------------------------------- the profile


@dataclass(frozen=True)
class TagRule:
    """What a profile says about one tag of one tag file."""

    name: str
    required: bool = False
    values: tuple[str, ...] = ()
    repeatable: bool = True
    description: str = ""
    default: str | None = None  # cablekeep:default: the value a bag made for the profile gets unless told


@dataclass(frozen=True)
class BagitProfile:
    """A loaded, checked BagIt profile. ``None`` for an ``*_allowed`` field means anything is allowed."""

    source: str
    identifier: str
    version: str
    spec_version: str
    source_organization: str
    external_description: str
    tags: Mapping[str, tuple[TagRule, ...]]  # tag file (bag-info.txt first) -> its rules
    manifests_required: tuple[str, ...] = ()
    manifests_allowed: tuple[str, ...] | None = None
    tag_manifests_required: tuple[str, ...] = ()
    tag_manifests_allowed: tuple[str, ...] | None = None
    tag_files_required: tuple[str, ...] = ()
    tag_files_allowed: tuple[str, ...] = ("*",)
    payload_files_required: tuple[str, ...] = ()
    payload_files_allowed: tuple[str, ...] = ("*",)
    allow_fetch: bool = True
    fetch_required: bool = False
    data_empty: bool = False
    serialization: str = "optional"
    accept_serialization: tuple[str, ...] = ()
    accept_bagit_version: tuple[str, ...] = ()
    folder_must_match_name: bool = False

    def accepts_format(self, fmt: str) -> bool:
        """True when ``fmt`` (``tar``, ``tar.gz``, ``zip``) is one of the accepted serializations."""
        accepted = {mime.lower() for mime in self.accept_serialization}
        return any(mime in accepted for mime in MIME_TYPES.get(fmt, ()))


def load_profile(name_or_path: str | Path, *, base_dir: Path | None = None) -> BagitProfile:
    """A built-in profile by name (:data:`BUILTIN_PROFILES`) or a profile file by path, a relative
    path taken from ``base_dir`` when given (a manifest's folder).

    Raises :class:`ProfileError` listing every fault when the file is unreadable, not JSON or not a profile.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text.lower() in BUILTIN_PROFILES:
        data = resources.files("cablekeep.handoff").joinpath("profiles", f"{text.lower()}.json").read_bytes()
        return parse_profile(data, f"built-in profile {text.lower()}")
    path = Path(name_or_path)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    try:
        data = path.read_bytes()
    except OSError as exc:
        hint = f"; built-in profiles are {', '.join(BUILTIN_PROFILES)}" if not path.exists() else ""
        raise ProfileError(str(path), [f"cannot be read: {exc.strerror or exc}{hint}"]) from exc
    return parse_profile(data, str(path))


def parse_profile(data: bytes | str, source: str) -> BagitProfile:
    """Check and load a profile's JSON text; :class:`ProfileError` lists every fault found in it."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(source, [f"not JSON: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise ProfileError(source, ["the profile must be a JSON object of fields"])
    return _Reader(doc, source).profile()


class _Reader:
    """Reads each field of a profile document, noting every fault instead of stopping at the first."""

    def __init__(self, doc: dict[str, object], source: str) -> None:
        self.doc = doc
        self.source = source
        self.faults: list[str] = []

    def profile(self) -> BagitProfile:
        doc = self.doc
        for key in doc:
            if key not in _KNOWN and ":" not in key:
                self.faults.append(f"{key}: not a field of the BagIt Profiles specification (misspelt?)")
        info = self._info()
        spec_version = str(info.get("BagIt-Profile-Version", "1.1.0"))
        if spec_version not in SPEC_VERSIONS:
            self.faults.append(
                f"BagIt-Profile-Info.BagIt-Profile-Version: {spec_version!r} is not one of {', '.join(SPEC_VERSIONS)}"
            )
        tags = {BAG_INFO_TXT: self._tag_rules("Bag-Info", doc.get("Bag-Info", {}))}
        ext = doc.get(_EXT_TAG_FILES, {})
        if not isinstance(ext, dict):
            self.faults.append(f"{_EXT_TAG_FILES}: must be an object of tag file name -> tag definitions")
        else:
            for tag_file, rules in ext.items():
                tags[tag_file] = self._tag_rules(f"{_EXT_TAG_FILES}.{tag_file}", rules)
        lists = {key: self._list(key) for key in _LISTS}
        bools = {key: self._bool(key, default) for key, default in _BOOLS.items()}
        folder = self._bool(_EXT_FOLDER, False)
        serialization = doc.get("Serialization", "optional")
        if serialization not in ("forbidden", "required", "optional"):
            self.faults.append(f"Serialization: {serialization!r} is not forbidden, required or optional")
            serialization = "optional"
        self._coherence(lists, bools, str(serialization))
        if self.faults:
            raise ProfileError(self.source, self.faults)
        present = set(doc)
        return BagitProfile(
            source=self.source,
            identifier=str(info[PROFILE_IDENTIFIER_TAG]),
            version=str(info["Version"]),
            spec_version=spec_version,
            source_organization=str(info["Source-Organization"]),
            external_description=str(info["External-Description"]),
            tags=tags,
            manifests_required=tuple(lists["Manifests-Required"]),
            manifests_allowed=tuple(lists["Manifests-Allowed"]) if "Manifests-Allowed" in present else None,
            tag_manifests_required=tuple(lists["Tag-Manifests-Required"]),
            tag_manifests_allowed=tuple(lists["Tag-Manifests-Allowed"]) if "Tag-Manifests-Allowed" in present else None,
            tag_files_required=tuple(lists["Tag-Files-Required"]),
            tag_files_allowed=tuple(lists["Tag-Files-Allowed"]) if "Tag-Files-Allowed" in present else ("*",),
            payload_files_required=tuple(lists["Payload-Files-Required"]),
            payload_files_allowed=(
                tuple(lists["Payload-Files-Allowed"]) if "Payload-Files-Allowed" in present else ("*",)
            ),
            allow_fetch=bools["Allow-Fetch.txt"],
            fetch_required=bools["Fetch.txt-Required"],
            data_empty=bools["Data-Empty"],
            serialization=str(serialization),
            accept_serialization=tuple(lists["Accept-Serialization"]),
            accept_bagit_version=tuple(lists["Accept-BagIt-Version"]),
            folder_must_match_name=folder,
        )

    def _info(self) -> dict[str, object]:
        info = self.doc.get("BagIt-Profile-Info")
        if not isinstance(info, dict):
            self.faults.append("BagIt-Profile-Info: required, an object describing the profile")
            return {key: "" for key in _INFO_REQUIRED}
        for key in _INFO_REQUIRED:
            if not isinstance(info.get(key), str) or not str(info.get(key)).strip():
                self.faults.append(f"BagIt-Profile-Info.{key}: required, a non-empty string")
        return info

    def _tag_rules(self, where: str, rules: object) -> tuple[TagRule, ...]:
        if not isinstance(rules, dict):
            self.faults.append(f"{where}: must be an object of tag name -> definition")
            return ()
        out = []
        for name, definition in rules.items():
            if not isinstance(definition, dict):
                self.faults.append(f"{where}.{name}: must be an object (required, values, repeatable, description)")
                continue
            for key in sorted(key for key in set(definition) - _TAG_KEYS if ":" not in key):
                self.faults.append(f"{where}.{name}.{key}: not a tag definition field ({', '.join(sorted(_TAG_KEYS))})")
            required = definition.get("required", False)
            repeatable = definition.get("repeatable", True)
            values = definition.get("values", [])
            description = definition.get("description", "")
            for key, value in (("required", required), ("repeatable", repeatable)):
                if not isinstance(value, bool):
                    self.faults.append(f"{where}.{name}.{key}: must be true or false, not {value!r}")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                self.faults.append(f"{where}.{name}.values: must be a list of strings")
                values = []
            default = definition.get(_EXT_DEFAULT)
            if default is not None and (not isinstance(default, str) or (values and default not in values)):
                self.faults.append(f"{where}.{name}.{_EXT_DEFAULT}: must be a string, one of the tag's values when it has any")
                default = None
            out.append(TagRule(str(name), required is True, tuple(values), repeatable is not False, str(description),
                               default))
        return tuple(out)

    def _list(self, key: str) -> list[str]:
        value = self.doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.faults.append(f"{key}: must be a list of strings")
            return []
        return [str(item) for item in value]

    def _bool(self, key: str, default: bool) -> bool:
        value = self.doc.get(key, default)
        if not isinstance(value, bool):
            self.faults.append(f"{key}: must be true or false, not {value!r}")
            return default
        return value

    def _coherence(self, lists: dict[str, list[str]], bools: dict[str, bool], serialization: str) -> None:
        doc = self.doc
        for kind in ("Manifests", "Tag-Manifests"):
            if f"{kind}-Allowed" in doc:
                missing = sorted(set(lists[f"{kind}-Required"]) - set(lists[f"{kind}-Allowed"]))
                if missing:
                    self.faults.append(f"{kind}-Allowed: must include every required type; lacks {', '.join(missing)}")
        for kind in ("Tag-Files", "Payload-Files"):
            allowed = lists[f"{kind}-Allowed"] if f"{kind}-Allowed" in doc else ["*"]
            # A required folder ("data/src/") is covered when a file in it would be allowed.
            uncovered = [
                path
                for path in lists[f"{kind}-Required"]
                if not _matches_any(path + "file" if path.endswith("/") else path, allowed)
            ]
            if uncovered:
                self.faults.append(f"{kind}-Allowed: must cover every required path; does not cover {', '.join(uncovered)}")
        if bools["Fetch.txt-Required"] and not bools["Allow-Fetch.txt"]:
            self.faults.append("Fetch.txt-Required: true while Allow-Fetch.txt is false; no bag could conform")
        if serialization != "forbidden" and not lists["Accept-Serialization"]:
            self.faults.append(f"Accept-Serialization: at least one MIME type is needed when Serialization is {serialization}")
        if not lists["Accept-BagIt-Version"]:
            self.faults.append("Accept-BagIt-Version: required, at least one BagIt version such as \"1.0\"")
        bad = [v for v in lists["Accept-BagIt-Version"] if not _VERSION_RE.match(v)]
        if bad:
            self.faults.append(f"Accept-BagIt-Version: {', '.join(map(repr, bad))} are not version numbers")


def _matches_any(path: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


# --------------------------------------------------------------------------- checking a bag


@dataclass(frozen=True)
class Violation:
    """One way a bag breaks its profile. ``rule`` names the profile field (or ``structure``)."""

    rule: str
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "detail": self.detail}


@dataclass
class ProfileReport:
    """Every violation of one profile by one bag. It says nothing of fixity: that is :mod:`cablekeep.fixity`."""

    target: str
    profile: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "cablekeep.profile-check/1",
            "target": self.target,
            "profile": self.profile,
            "conforms": self.ok,
            "violations": [v.to_json() for v in self.violations],
        }


def validate_bag_against_profile(bag: Path, profile: BagitProfile) -> ProfileReport:
    """Every way the bag at ``bag`` (directory, .tar, .tar.gz, .tgz or .zip) breaks ``profile``.

    Reads the names in the bag and its small tag files only; no checksum is verified here.
    Raises :class:`~cablekeep.errors.BagUnreadableError` when ``bag`` cannot be read at all.
    """
    contents = read_bag_contents(bag, [BAGIT_TXT, *profile.tags])
    return ProfileReport(str(bag), profile.identifier, list(_violations(contents, profile, RULES)))


def check_before_bagging(
    info: Mapping[str, str | Sequence[str]],
    algorithms: Sequence[str],
    tag_files: Mapping[str, bytes],
    profile: BagitProfile,
    *,
    serialization: str | None = None,
) -> list[Violation]:
    """The violations of ``profile`` by the bag cablekeep would write, before anything is written.

    ``info`` is the bag-info a bag would get (the labels cablekeep adds itself, :data:`BAGGER_TAGS`,
    count as present), ``algorithms`` its manifest and tag-manifest algorithms, ``tag_files`` any
    extra tag files by bag-relative name, ``serialization`` the format it will be written as
    (None: left a directory). Rules about the payload are left to the check of the finished bag.
    """
    lines = []
    for label, value in info.items():
        values = [value] if isinstance(value, str) else list(value)
        lines += [f"{label}: {item}" for item in values]
    lines += [f"{label}: " for label in BAGGER_TAGS if label not in info]
    contents = BagContents("the bag to be made", serialization, "", "")
    contents.texts[BAGIT_TXT] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    contents.texts[BAG_INFO_TXT] = ("\n".join(lines) + "\n").encode("utf-8")
    contents.texts.update(tag_files)
    names = [BAGIT_TXT, BAG_INFO_TXT, *tag_files]
    names += [f"manifest-{alg}.txt" for alg in algorithms] + [f"tagmanifest-{alg}.txt" for alg in algorithms]
    contents.files = {name: len(contents.texts.get(name, b"")) for name in names}
    unknown = {(BAG_INFO_TXT, label) for label in BAGGER_TAGS if label not in info}
    rules = [rule for rule in RULES if rule not in (_payload_files, _data_empty, _folder_name)]
    return list(_violations(contents, profile, rules, unknown))


def refuse_violations(violations: Sequence[Violation], profile: BagitProfile, what: str) -> None:
    """Raise :class:`UsageError` naming every violation when there is any: ``what`` (e.g. "bag
    andijon-2005") would break ``profile``, so nothing is written."""
    if not violations:
        return
    lines = "\n".join(f"  {v.rule}: {v.path}: {v.detail}" for v in violations)
    raise UsageError(
        f"{what} would violate the profile {profile.identifier} ({len(violations)} violation(s)); nothing was "
        f"written. Give the missing values (--info LABEL=VALUE, or bag.info in the manifest) or choose "
        f"other algorithms:\n{lines}"
    )


def with_profile_defaults(
    profile: BagitProfile, info: Mapping[str, str | Sequence[str]]
) -> dict[str, str | Sequence[str]]:
    """``info`` over the profile's defaults (:func:`bag_info_defaults`): what is given wins."""
    merged: dict[str, str | Sequence[str]] = dict(bag_info_defaults(profile))
    given = {label.lower() for label in info}
    merged = {label: value for label, value in merged.items() if label.lower() not in given}
    merged.update(info)
    return merged


def bag_info_defaults(profile: BagitProfile) -> dict[str, str]:
    """bag-info values a bag made for ``profile`` gets unless told otherwise: its identifier, and
    each tag with a ``cablekeep:default`` or required with exactly one allowed value."""
    return {PROFILE_IDENTIFIER_TAG: profile.identifier, **_defaults(profile.tags.get(BAG_INFO_TXT, ()))}


def _defaults(rules: Sequence[TagRule]) -> dict[str, str]:
    defaults = {}
    for rule in rules:
        if rule.default is not None:
            defaults[rule.name] = rule.default
        elif rule.required and len(rule.values) == 1:
            defaults[rule.name] = rule.values[0]
    return defaults


@dataclass(frozen=True)
class ProfileTags:
    """What a bag made for a profile holds besides its payload: bag-info.txt's labels (over the profile's
    defaults) and the profile's other tag files (name -> UTF-8 text), such as APTrust's aptrust-info.txt."""

    info: dict[str, str | Sequence[str]]
    tag_files: dict[str, bytes]


def profile_tags(profile: BagitProfile, info: Mapping[str, str | Sequence[str]]) -> ProfileTags:
    """Share the labels of ``info`` (``--info``, ``bag.info``) out among the profile's tag files.

    A label the profile defines for another tag file (Title, Access, Storage-Option: aptrust-info.txt)
    goes into that file, and out of bag-info.txt unless the profile defines it there too; the rest stay
    in bag-info.txt. Another tag file is written when ``info`` gives at least one of its tags; the
    profile's defaults (:func:`bag_info_defaults`, the same rule per file) fill its other tags. A tag file
    nothing was given for is not written, so a profile's check names it missing rather than half filled.
    """
    bag_info_names = {rule.name.lower() for rule in profile.tags.get(BAG_INFO_TXT, ())}
    moved: set[str] = set()
    tag_files: dict[str, bytes] = {}
    for tag_file, rules in profile.tags.items():
        if tag_file == BAG_INFO_TXT:
            continue
        names = {rule.name.lower() for rule in rules}
        given = {label: value for label, value in info.items() if label.lower() in names}
        if not given:
            continue
        moved.update(label for label in given if label.lower() not in bag_info_names)
        values: dict[str, str | Sequence[str]] = {
            label: value for label, value in _defaults(rules).items() if label.lower() not in {g.lower() for g in given}
        }
        values.update(given)
        order = {rule.name.lower(): index for index, rule in enumerate(rules)}
        lines = []
        for label in sorted(values, key=lambda label: order.get(label.lower(), len(order))):
            value = values[label]
            for item in [value] if isinstance(value, str) else list(value):
                lines.append(f"{label}: " + "\n  ".join(str(item).splitlines() or [""]))
        tag_files[tag_file] = ("\n".join(lines) + "\n").encode("utf-8")
    rest = {label: value for label, value in info.items() if label not in moved}
    return ProfileTags(with_profile_defaults(profile, rest), tag_files)


def default_algorithms(profile: BagitProfile) -> tuple[str, ...]:
    """The manifest algorithms to write for ``profile``: those it requires, else sha256 or the first
    it allows that cablekeep writes. Raises :class:`ProfileError` when it allows none cablekeep writes."""
    allowed = profile.manifests_allowed or WRITABLE_ALGORITHMS
    chosen = [alg for alg in profile.manifests_required if alg in WRITABLE_ALGORITHMS]
    if not chosen:
        chosen = ["sha256"] if "sha256" in allowed else [alg for alg in allowed if alg in WRITABLE_ALGORITHMS][:1]
    if not chosen:
        raise ProfileError(profile.source, [f"allows no manifest algorithm cablekeep writes ({', '.join(WRITABLE_ALGORITHMS)})"])
    return tuple(chosen)


# --------------------------------------------------------------------------- the rules


@dataclass
class _Bag:
    """A bag's contents with its tag files parsed (tag file -> [(label, value or None when unknown)])."""

    contents: BagContents
    tags: dict[str, list[tuple[str, str | None]]]
    version: str | None


Rule = Callable[[_Bag, BagitProfile], Iterator[Violation]]


def _violations(
    contents: BagContents, profile: BagitProfile, rules: Sequence[Rule], unknown: AbstractSet[tuple[str, str]] = frozenset()
) -> Iterator[Violation]:
    for fault in contents.structure:
        yield _structure(fault)
    declaration = parse_declaration(contents.texts[BAGIT_TXT]) if BAGIT_TXT in contents.texts else None
    codec = python_codec(declaration.encoding or "UTF-8") if declaration else "utf-8"
    tags: dict[str, list[tuple[str, str | None]]] = {}
    for tag_file in profile.tags:
        raw = contents.texts.get(tag_file)
        if raw is None:
            continue
        elements, _ = parse_bag_info(split_lines(raw.decode(codec or "utf-8", "replace")), tag_file)
        tags[tag_file] = [(label, None if (tag_file, label) in unknown else value) for label, value in elements]
    bag = _Bag(contents, tags, declaration.version_text if declaration else None)
    for rule in rules:
        yield from rule(bag, profile)


def _structure(fault: Structure) -> Violation:
    return Violation("structure", fault.path, fault.detail)


def _serialization(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    fmt = bag.contents.serialization
    if fmt is None and profile.serialization == "required":
        yield Violation("Serialization", ".", "the profile requires a serialized bag (tar, zip...); this is a directory")
    if fmt is not None and profile.serialization == "forbidden":
        yield Violation("Serialization", ".", f"the profile forbids serialization; this bag is a {fmt} file")
    if fmt is not None and profile.serialization != "forbidden" and not profile.accepts_format(fmt):
        yield Violation(
            "Accept-Serialization",
            ".",
            f"a {fmt} bag ({', '.join(MIME_TYPES[fmt])}) is not accepted; accepted: {', '.join(profile.accept_serialization)}",
        )


def _folder_name(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    contents = bag.contents
    if profile.folder_must_match_name and contents.serialization and contents.folder != contents.stem:
        yield Violation(
            _EXT_FOLDER,
            contents.folder,
            f"the archive's folder is {contents.folder!r}; the profile requires it to be named like the archive, {contents.stem!r}",
        )


def _bagit_version(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    if bag.version is None:
        yield Violation("Accept-BagIt-Version", BAGIT_TXT, "no BagIt-Version could be read (is bagit.txt there?)")
    elif bag.version not in profile.accept_bagit_version:
        yield Violation(
            "Accept-BagIt-Version",
            BAGIT_TXT,
            f"BagIt-Version {bag.version} is not accepted; accepted: {', '.join(profile.accept_bagit_version)}",
        )


def _tags(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    for tag_file, rules in profile.tags.items():
        field_name = "Bag-Info" if tag_file == BAG_INFO_TXT else f"{_EXT_TAG_FILES}.{tag_file}"
        elements = bag.tags.get(tag_file)
        if elements is None:
            if tag_file in bag.contents.oversized:
                yield Violation(field_name, tag_file, "too large to read as a tag file")
            elif tag_file == BAG_INFO_TXT or any(rule.required for rule in rules):
                yield Violation(field_name, tag_file, f"{tag_file} is missing; the profile requires tags in it")
            continue
        for rule in rules:
            values = [value for label, value in elements if label == rule.name]
            where = f"{tag_file}: {rule.name}"
            if not values:
                if rule.required:
                    yield Violation(field_name, where, "required tag is missing")
                continue
            if len(values) > 1 and not rule.repeatable:
                yield Violation(field_name, where, f"appears {len(values)} times; the profile says it is not repeatable")
            for value in values:
                if value is None:
                    continue
                if rule.required and not value.strip():
                    yield Violation(field_name, where, "required tag has an empty value")
                elif rule.values and value not in rule.values:
                    yield Violation(field_name, where, f"{value!r} is not one of {', '.join(map(repr, rule.values))}")


def _profile_identifier(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    elements = bag.tags.get(BAG_INFO_TXT)
    if elements is None:
        return
    values = [value for label, value in elements if label == PROFILE_IDENTIFIER_TAG]
    if not values:
        yield Violation(
            "BagIt-Profile-Identifier",
            f"{BAG_INFO_TXT}: {PROFILE_IDENTIFIER_TAG}",
            f"missing; a conforming bag names its profile ({profile.identifier})",
        )
    elif profile.identifier not in values:
        yield Violation(
            "BagIt-Profile-Identifier",
            f"{BAG_INFO_TXT}: {PROFILE_IDENTIFIER_TAG}",
            f"names {', '.join(v or '' for v in values)}, not this profile ({profile.identifier})",
        )


def _algorithms(bag: _Bag, pattern: re.Pattern[str]) -> dict[str, str]:
    out = {}
    for name in bag.contents.files:
        match = pattern.match(name)
        if match:
            out[match.group(1).lower()] = name
    return out


def _manifests(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    for field_name, pattern, required, allowed in (
        ("Manifests", MANIFEST_RE, profile.manifests_required, profile.manifests_allowed),
        ("Tag-Manifests", TAGMANIFEST_RE, profile.tag_manifests_required, profile.tag_manifests_allowed),
    ):
        present = _algorithms(bag, pattern)
        prefix = "manifest" if field_name == "Manifests" else "tagmanifest"
        for alg in required:
            if alg.lower() not in present:
                yield Violation(f"{field_name}-Required", f"{prefix}-{alg}.txt", "required by the profile and missing")
        if allowed is not None:
            allowed_set = {alg.lower() for alg in allowed}
            for alg, name in sorted(present.items()):
                if alg not in allowed_set:
                    yield Violation(
                        f"{field_name}-Allowed", name, f"{alg} is not allowed; allowed: {', '.join(allowed) or 'none'}"
                    )


def _fetch(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    present = FETCH_TXT in bag.contents.files
    if present and not profile.allow_fetch:
        yield Violation("Allow-Fetch.txt", FETCH_TXT, "the profile does not allow fetch.txt")
    if not present and profile.fetch_required:
        yield Violation("Fetch.txt-Required", FETCH_TXT, "the profile requires fetch.txt")


def _is_tag_file(name: str) -> bool:
    return not (
        name.startswith(PAYLOAD_DIR + "/")
        or name in (BAGIT_TXT, BAG_INFO_TXT, FETCH_TXT)
        or MANIFEST_RE.match(name)
        or TAGMANIFEST_RE.match(name)
    )


def _tag_files(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    files = bag.contents.files
    for path in profile.tag_files_required:
        if path not in files:
            yield Violation("Tag-Files-Required", path, "required by the profile and missing")
    for name in sorted(files):
        if _is_tag_file(name) and not _matches_any(name, profile.tag_files_allowed):
            yield Violation("Tag-Files-Allowed", name, f"not allowed; allowed: {', '.join(profile.tag_files_allowed)}")


def _payload_files(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    payload = bag.contents.payload()
    for path in profile.payload_files_required:
        found = any(name.startswith(path) for name in payload) if path.endswith("/") else path in payload
        if not found:
            yield Violation("Payload-Files-Required", path, "required by the profile and missing")
    for name in sorted(payload):
        if not _matches_any(name, profile.payload_files_allowed):
            yield Violation(
                "Payload-Files-Allowed", name, f"not allowed; allowed: {', '.join(profile.payload_files_allowed)}"
            )


def _data_empty(bag: _Bag, profile: BagitProfile) -> Iterator[Violation]:
    payload = bag.contents.payload()
    if profile.data_empty and not (not payload or (len(payload) == 1 and not next(iter(payload.values())))):
        yield Violation("Data-Empty", PAYLOAD_DIR, f"must hold no files or one empty file; holds {len(payload)}")


# Cheap, fatal ones first (the specification: serialization and version before the rest).
RULES: tuple[Rule, ...] = (
    _serialization,
    _folder_name,
    _bagit_version,
    _profile_identifier,
    _tags,
    _manifests,
    _fetch,
    _tag_files,
    _payload_files,
    _data_empty,
)
