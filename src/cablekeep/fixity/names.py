"""File names of any bytes, written as one line of printable text and read back exactly.

On POSIX a file name is bytes; Python shows a byte that is not UTF-8 as a lone surrogate
(``os.fsdecode``'s surrogateescape), which SQLite, JSON and XML cannot carry, and a name may
hold a newline or a tab, which would split a line of a history listing. :func:`escape_name`
writes such characters as backslash escapes, reversibly (:func:`unescape_name` undoes it):

- ``\\`` -> ``\\\\``; newline, tab and carriage return -> ``\\n``, ``\\t``, ``\\r``;
- any other C0 control character or DEL -> ``\\xHH`` (00..1f, 7f);
- a byte that is not UTF-8 (surrogate U+DC80..U+DCFF) -> ``\\xHH``, the byte itself (80..ff:
  never a character of its own in a UTF-8 name, so ``\\xHH`` is one or the other by its value);
- a C1 control character, line or paragraph separator, other lone surrogate, or XML
  non-character (U+FFFE, U+FFFF) -> ``\\uHHHH``.

Every other character is kept, so an ordinary name is shown as it is.
"""

from __future__ import annotations

import re

_SIMPLE = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNSIMPLE = {v[1]: k for k, v in _SIMPLE.items()}
_NEEDS_ESCAPE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_ESCAPED = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|(.))", re.DOTALL)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SIMPLE:
        return _SIMPLE[char]
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def escape_name(name: str) -> str:
    """``name`` as printable text on one line that SQLite, JSON and XML 1.0 accept (module docstring)."""
    return _NEEDS_ESCAPE.sub(_escape_one, name)


def _unescape_one(match: re.Match[str]) -> str:
    byte, code, simple = match.groups()
    if byte is not None:
        value = int(byte, 16)
        return chr(value if value < 0x80 else 0xDC00 + value)
    if code is not None:
        return chr(int(code, 16))
    if simple in _UNSIMPLE:
        return _UNSIMPLE[simple]
    raise ValueError(f"\\{simple} is not an escape that escape_name writes")


def unescape_name(text: str) -> str:
    """The name :func:`escape_name` turned into ``text``; ``os.fsencode`` of it gives the original bytes."""
    return _ESCAPED.sub(_unescape_one, text)
