"""Making a page's references absolute: ``urljoin`` and ``urldefrag``, with a fast path.

A page's references are made absolute against its base URL (``<base href>`` or the page's own),
without fragment, and kept only when http(s): :func:`absolute`. ``urljoin`` costs several
microseconds a call and a cable page has about thirty references, so :class:`Resolver` splits the
base once and joins the common forms itself: an absolute ``http(s)://`` URL, a root-relative path
and a plain relative path, each of safe ASCII characters, without dot segments, empty segments,
``;`` parameters or an empty query. Anything else goes to ``urljoin``. The two agree on every form
``tests/cables/test_urls.py`` tries (queries, fragments, dot segments, scheme-relative URLs,
other schemes, odd characters, IDN and IPv6 hosts, ports).
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit

__all__ = ["Resolver", "absolute"]

_URL_NOISE_RE = re.compile(r"[\t\n\r]")
# A path of characters urljoin passes through unchanged (no ";": urlparse splits parameters there).
_SAFE_PATH_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=:@/%]*")
_SAFE_QUERY_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=:@/%;?]+")
_ABSOLUTE_RE = re.compile(r"(https?)://([A-Za-z0-9.\-]+(?::[0-9]*)?)(/[A-Za-z0-9\-._~!$&'()*+,=:@/%]*)?")


def absolute(base: str, href: str | None) -> str | None:
    """``href`` made absolute against ``base``, fragment removed; None unless http(s)."""
    if href is None:
        return None
    href = _URL_NOISE_RE.sub("", href).strip()
    if not href or href.startswith("#"):
        return None
    try:
        url, _ = urldefrag(urljoin(base, href))
        scheme = urlsplit(url).scheme
    except ValueError:  # unparseable, e.g. a broken IPv6 host: not a link we can follow
        return None
    return url if scheme in ("http", "https") else None


class Resolver:
    """:func:`absolute` against one base, with the base split once and a fast path for common forms."""

    __slots__ = ("base", "_origin", "_directory")

    def __init__(self, base: str) -> None:
        self.base = base
        self._origin: str | None = None  # "scheme://netloc" when the fast path may be used
        self._directory = ""  # the base path up to its last "/"
        if not base.isascii() or not base.startswith(("http://", "https://")):
            return
        try:
            parts = urlsplit(base)
        except ValueError:
            return
        path = parts.path
        if (
            not parts.netloc or not path.startswith("/") or ";" in path or "//" in path
            or _has_dot_segment(path)
        ):
            return
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._directory = path[: path.rfind("/") + 1]

    def resolve(self, href: str | None) -> str | None:
        """``absolute(self.base, href)``."""
        if href is None:
            return None
        fast = self._fast(href) if self._origin is not None else None
        return fast if fast is not None else absolute(self.base, href)

    def _fast(self, href: str) -> str | None:
        """The fast path's answer, or None when ``href`` is not one of its forms."""
        if not href.isascii():
            return None
        if "\t" in href or "\n" in href or "\r" in href:
            href = _URL_NOISE_RE.sub("", href)
        href = href.strip()
        if not href or href[0] == "#":
            return None
        reference, _, _ = href.partition("#")
        path, question, query = reference.partition("?")
        if question and _SAFE_QUERY_RE.fullmatch(query) is None:
            return None  # an empty query is dropped by urljoin; odd characters are left to it
        suffix = f"?{query}" if question else ""
        first = path[:1]
        if first == "/":
            if path[1:2] == "/" or _SAFE_PATH_RE.fullmatch(path) is None or _has_dot_segment(path):
                return None
            return f"{self._origin}{path}{suffix}"
        if first == "h" and path.startswith(("http://", "https://")):
            if _ABSOLUTE_RE.fullmatch(path) is None:
                return None
            return f"{path}{suffix}"
        if (
            not path or ":" in path.partition("/")[0] or "//" in path or _has_dot_segment(path)
            or _SAFE_PATH_RE.fullmatch(path) is None
        ):
            return None
        return f"{self._origin}{self._directory}{path}{suffix}"


def _has_dot_segment(path: str) -> bool:
    """Whether a path has a "." or ".." segment (urljoin resolves them)."""
    if "." not in path:
        return False
    return any(segment in (".", "..") for segment in path.split("/"))
