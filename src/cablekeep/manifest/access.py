"""The ``access`` section: how people reach what the collection archived.

``replay_base`` is a wayback-style replay of the collection's WARCs (a library's own wayback, or the address
``cablekeep replay`` prints), where ``<replay_base>/<14-digit time>/<url>`` is a capture; the link-rot
report builds its replay links and Robust Links' version URLs from it. An http(s) URL with a host and
no query or fragment, or null (the default).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .keys import Section
from .model import Access
from .reader import Node, is_null
from .seeds import check_http_url
from .values import ValueReader

_EXAMPLE = "http://127.0.0.1:8090/cablekeep/"


def read_access(reader: ValueReader, section: Section) -> Access:
    return Access(replay_base=section.get("replay_base", None, lambda n, k: _replay_base(reader, n, k)))


def _replay_base(reader: ValueReader, node: Node, key: str) -> str | None:
    if is_null(node):
        return None
    url = reader.line_of_text(node, key).strip()
    try:
        check_http_url(url)
    except ValueError as error:
        reader.fail(node, key, f"{error}; write the replay's base URL, e.g. {_EXAMPLE} "
                    "(cablekeep replay prints its own)")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        reader.fail(node, key, f"{url!r} has a query or a fragment; a replay base is the URL that "
                    f"<14-digit time>/<url> is appended to, e.g. {_EXAMPLE}")
    return url
