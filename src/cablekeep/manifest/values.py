"""Typed values of a manifest: text, whole numbers, numbers, booleans, choices, sizes, hosts, patterns.

:class:`ValueReader` adds these checks to the YAML reader; each wrong value is a problem naming its
line and key, with a hint of what to write instead. A list (hosts, patterns) reports each wrong item.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Sequence
from fractions import Fraction

from .reader import Node, Reader, describe

_SIZE_RE = re.compile(r"\s*(\d{1,30}(?:\.\d{1,30})?|\.\d{1,30})\s*([A-Za-z]*)\s*")
_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
_HOST_RE = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")


def parse_size(text: str) -> int:
    """Bytes in a size written as a whole number of bytes or a number and a unit: "100MB", "1.5GiB",
    "512 KB". KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB powers of 1024; units ignore case.
    Raises ValueError saying what is wrong."""
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; write a number of bytes or a number and a unit, "
                         "e.g. 100MB, 1.5GiB, 512KB")
    number, unit = match.groups()
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"{unit!r} in {text!r} is not a unit of size; use B, KB, MB, GB, TB "
                         "(powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)")
    size = Fraction(number) * factor
    if size.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number of bytes; use a smaller unit")
    return int(size)


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


# Unicode category Cc (control): C0, DEL and C1
_CONTROL = frozenset(chr(code) for code in (*range(0x20), *range(0x7F, 0xA0)))


def control_characters(text: str, allowed: str = "") -> bool:
    if _CONTROL.isdisjoint(text):  # the usual case, decided in C
        return False
    return any(c in _CONTROL and c not in allowed for c in text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ValueReader(Reader):
    """The YAML reader with typed values; each method records a problem and skips a wrong value."""

    def text(self, node: Node, key: str) -> str:
        value = self.value(node, key, "text")
        if not isinstance(value, str):
            hint = f"; quote it if you mean the text: \"{node.value}\""
            self.fail(node, key, f"expected text, got {describe(value)}{hint}")
        if control_characters(value, allowed="\n\t"):
            self.fail(node, key, "contains control characters; remove them")
        return value

    def line_of_text(self, node: Node, key: str) -> str:
        """Text on one line (it goes into a one-line field such as a bag-info.txt value)."""
        value = self.text(node, key)
        if control_characters(value):
            self.fail(node, key, "must be one line of text without tabs; it goes into a one-line field")
        return value

    def non_empty_line(self, node: Node, key: str) -> str:
        value = self.line_of_text(node, key)
        if not value.strip():
            self.fail(node, key, "must not be empty; give a value, or remove the key to use the default")
        return value

    def integer(self, node: Node, key: str, low: int, high: int | None = None) -> int:
        value = self.value(node, key, "a whole number")
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                hint = "; write it without quotes"
            elif isinstance(value, float) and value.is_integer():
                hint = f"; write {int(value)}"
            self.fail(node, key, f"expected a whole number, got {describe(value)}{hint}")
        if value < low or (high is not None and value > high):
            allowed = f"from {low} to {high}" if high is not None else f"{low} or more"
            self.fail(node, key, f"must be {allowed}, got {value}")
        return value

    def number(self, node: Node, key: str, low: float, *, strict: bool = False) -> float:
        """A finite number >= low (> low when ``strict``), such as seconds."""
        value = self.value(node, key, "a number")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = "; write it without quotes" if isinstance(value, str) and _is_number(value) else ""
            self.fail(node, key, f"expected a number, got {describe(value)}{hint}")
        if not math.isfinite(value):
            self.fail(node, key, f"must be a finite number, got {value}")
        if value < low or (strict and value == low):
            self.fail(node, key, f"must be {'more than' if strict else 'at least'} {low:g}, got {value:g}")
        return float(value)

    def boolean(self, node: Node, key: str) -> bool:
        value = self.value(node, key, "true or false")
        if not isinstance(value, bool):
            hint = "; write it without quotes" if isinstance(value, str) and value.lower() in (
                "true", "false", "yes", "no", "on", "off") else ""
            self.fail(node, key, f"expected true or false, got {describe(value)}{hint}")
        return value

    def choice(self, node: Node, key: str, choices: Sequence[str]) -> str:
        value = self.value(node, key, f"one of {', '.join(choices)}")
        if not isinstance(value, str) or value not in choices:
            hint = suggest(value, choices) if isinstance(value, str) else ""
            self.fail(node, key, f"expected one of {', '.join(choices)}, got {describe(value)}{hint}")
        return value

    def size(self, node: Node, key: str) -> int:
        """A size in bytes, more than 0: a whole number of bytes or text such as "100MB"."""
        value = self.value(node, key, "a size such as 100MB")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(node, key, f"expected a size such as 100MB or 1.5GiB, or a whole number of bytes, "
                      f"got {describe(value)}")
        if isinstance(value, str):
            try:
                value = parse_size(value)
            except ValueError as error:
                self.fail(node, key, str(error))
        if value <= 0:
            self.fail(node, key, f"must be more than 0 bytes, got {value}")
        return value

    def host(self, node: Node, key: str) -> str:
        host = self.text(node, key).strip().lower()
        try:
            return str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass  # not an IP address; check it as a host name
        try:
            host = host.encode("idna").decode("ascii")  # münchen.de -> xn--mnchen-3ya.de
        except UnicodeError:
            pass  # not a valid international name; the pattern below says so
        if not _HOST_RE.fullmatch(host):
            self.fail(node, key, f"{host!r} is not a host name or IP address; write just the host, "
                      "e.g. example.org or 127.0.0.2, without scheme, port or path")
        return host.rstrip(".")

    def host_list(self, node: Node, key: str) -> tuple[str, ...]:
        hosts = [self.attempt(lambda: self.host(item, item_key), "") for item, item_key in self.items(node, key)]
        return tuple(host for host in hosts if host)

    def pattern(self, node: Node, key: str) -> re.Pattern[str]:
        regex = self.text(node, key)
        try:
            return re.compile(regex)
        except re.error as error:
            self.fail(node, key, f"not a valid regular expression: {error}; fix it, or put a backslash "
                      "before a character meant literally (\\. for a dot)")

    def pattern_list(self, node: Node, key: str) -> tuple[re.Pattern[str], ...]:
        patterns = [self.attempt(lambda: self.pattern(item, item_key), None) for item, item_key in self.items(node, key)]
        return tuple(pattern for pattern in patterns if pattern is not None)
