"""robots.txt rules of one host, parsed with protego (Google's matching rules, Crawl-delay)."""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego


@dataclass
class RobotsRules:
    """What a host's robots.txt allows. No file allows everything; ``disallow_all`` nothing."""

    text: str | None
    disallow_all: bool = False
    _parser: Protego | None = None

    def __post_init__(self) -> None:
        self._parser = Protego.parse(self.text) if self.text else None

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        return self._parser is None or bool(self._parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def rules_from_response(status: int | None, body: bytes) -> RobotsRules:
    """Rules from a robots.txt fetch, as RFC 9309 says: 2xx parses the body; 4xx allows all;
    5xx or no response at all (``status`` None) disallows all."""
    if status is None or status >= 500:
        return RobotsRules(None, disallow_all=True)
    if not 200 <= status < 300:
        return RobotsRules(None)
    return RobotsRules(body.decode("utf-8", "replace"))
