"""The classification rules, one by one, on plain data (no network)."""

from __future__ import annotations

from cablekeep.watch.classify import Archived, FieldChange, Hop, Live, NotFoundAnswer, classify
from cablekeep.watch.text import similarity, visible_text

URL = "http://example.org/docs/report.html"
PAGE = "Annual report of the refugee agency " + " ".join(f"camp {n} held {n * 7} people in June" for n in range(40))
ARCHIVED = Archived(URL, digest="sha1:AAAA", text=PAGE)
NOT_FOUND = NotFoundAnswer(404, None, "Sorry, nothing lives at this address")


def live(*hops: Hop, **kwargs: object) -> Live:
    return Live(hops=hops, **kwargs)  # type: ignore[arg-type]


def test_same_digest_is_unchanged() -> None:
    verdict = classify(ARCHIVED, live(Hop(URL, 200), digest="sha1:AAAA", text=PAGE), NOT_FOUND)
    assert (verdict.link_class, verdict.reason) == ("unchanged", "same payload digest")


def test_a_304_to_the_conditional_request_is_unchanged() -> None:
    assert classify(ARCHIVED, live(Hop(URL, 304)), NOT_FOUND).link_class == "unchanged"


def test_the_same_decoded_page_is_unchanged() -> None:
    assert classify(ARCHIVED, live(Hop(URL, 200), digest="sha1:BBBB", same_decoded=True, text=PAGE), None).link_class \
        == "unchanged"


def test_another_payload_is_changed_with_a_similarity() -> None:
    text = PAGE.replace("June", "July", 5)
    verdict = classify(ARCHIVED, live(Hop(URL, 200), digest="sha1:BBBB", text=text), NOT_FOUND)
    assert verdict.link_class == "changed"
    assert verdict.similarity is not None and 0.9 < verdict.similarity < 1.0
    assert verdict.field_changes == ()


def test_a_cable_page_names_each_changed_field_old_and_new() -> None:
    old = {"identifier": "05ALMATY2503", "classification": "CONFIDENTIAL", "tags": "PREF PHUM"}
    new = {"identifier": "05ALMATY2503", "classification": "UNCLASSIFIED", "tags": "PREF PHUM KZ"}
    archived = Archived(URL, "sha1:AAAA", PAGE, old, kind="cable")
    verdict = classify(archived, live(Hop(URL, 200), digest="sha1:CCCC", text=PAGE, fields=new, kind="cable"), None)
    assert verdict.link_class == "changed"
    assert verdict.field_changes == (
        FieldChange("classification", "CONFIDENTIAL", "UNCLASSIFIED"), FieldChange("tags", "PREF PHUM", "PREF PHUM KZ"),
    )
    assert "classification, tags" in verdict.reason


def test_a_redirect_to_another_page_that_answers_is_moved() -> None:
    target = "http://example.org/archive/2005/report.html"
    verdict = classify(ARCHIVED, live(Hop(URL, 301, target), Hop(target, 200), text=PAGE), NOT_FOUND)
    assert (verdict.link_class, verdict.final_url) == ("moved", target)


def test_a_redirect_to_the_same_url_written_otherwise_is_judged_by_its_page() -> None:
    https = URL.replace("http:", "https:")  # same SURT key: scheme does not count
    verdict = classify(ARCHIVED, live(Hop(URL, 301, https), Hop(https, 200), digest="sha1:AAAA", text=PAGE), None)
    assert verdict.link_class == "unchanged"


def test_404_and_410_are_gone() -> None:
    assert classify(ARCHIVED, live(Hop(URL, 404)), NOT_FOUND).link_class == "gone"
    assert classify(ARCHIVED, live(Hop(URL, 410)), NOT_FOUND).reason == "HTTP 410"
    moved_then_gone = classify(ARCHIVED, live(Hop(URL, 302, URL + "x"), Hop(URL + "x", 404)), NOT_FOUND)
    assert moved_then_gone.link_class == "gone"


def test_a_redirect_to_the_home_page_is_gone() -> None:
    home = "http://example.org/"
    verdict = classify(ARCHIVED, live(Hop(URL, 302, home), Hop(home, 200), text="Welcome home"), NOT_FOUND)
    assert verdict.link_class == "gone" and "home page" in verdict.reason


def test_a_redirect_to_where_missing_urls_go_is_gone() -> None:
    sink = "http://example.org/search?q=missing"
    answer = NotFoundAnswer(200, sink, "Search our site")
    verdict = classify(ARCHIVED, live(Hop(URL, 302, sink), Hop(sink, 200), text="Search our site"), answer)
    assert verdict.link_class == "gone"


def test_a_redirect_to_an_error_page_is_gone() -> None:
    target = "http://example.org/errors/missing.html"
    verdict = classify(ARCHIVED, live(Hop(URL, 302, target), Hop(target, 200), text="Page not found. Try search."),
                       NOT_FOUND)
    assert verdict.link_class == "gone" and "error page" in verdict.reason


def test_a_200_alike_the_hosts_not_found_answer_is_a_soft_404() -> None:
    answer = NotFoundAnswer(200, "http://example.org/zzz", "Our site Sorry we moved things around. Home | Search")
    verdict = classify(ARCHIVED, live(Hop(URL, 200), digest="sha1:BBBB",
                                      text="Our site Sorry we moved things around. Home | Search"), answer)
    assert verdict.link_class == "soft-404" and "cannot exist" in verdict.reason


def test_a_200_worded_as_an_error_is_a_soft_404_unless_the_archived_page_was_worded_so() -> None:
    text = "The document you asked for is no longer available."
    assert classify(ARCHIVED, live(Hop(URL, 200), digest="sha1:B", text=text), None).link_class == "soft-404"
    archived = Archived(URL, "sha1:A", "Error 404 explained: a tutorial on status codes")
    later = "Error 404 explained: a tutorial on status codes, second edition"
    assert classify(archived, live(Hop(URL, 200), digest="sha1:B", text=later), None).link_class == "changed"


def test_a_cable_page_that_now_says_not_found_is_a_soft_404() -> None:
    archived = Archived(URL, "sha1:A", PAGE, {"identifier": "05ALMATY2503"}, kind="cable")
    verdict = classify(archived, live(Hop(URL, 200), digest="sha1:B", text="cablebrowser", kind="not-found"), None)
    assert verdict.link_class == "soft-404"


def test_5xx_and_429_are_server_errors() -> None:
    assert classify(ARCHIVED, live(Hop(URL, 503)), NOT_FOUND).link_class == "server-error"
    assert classify(ARCHIVED, live(Hop(URL, 500)), NOT_FOUND).reason == "HTTP 500"
    assert classify(ARCHIVED, live(Hop(URL, 429)), NOT_FOUND).link_class == "server-error"


def test_no_response_is_unreachable() -> None:
    for reason in ("refused", "dns", "timeout", "error", "redirect-loop"):
        verdict = classify(ARCHIVED, live(failure=reason, detail="why"), NOT_FOUND)
        assert verdict.link_class == "unreachable" and verdict.reason.startswith(reason)


def test_robots_and_the_address_guard_are_blocked() -> None:
    assert classify(ARCHIVED, live(failure="robots", detail="disallowed"), None).link_class == "blocked"
    target = "http://127.0.0.9/report.html"  # pure: nothing is fetched; loopback stands for any refused address
    verdict = classify(ARCHIVED, live(Hop(URL, 302, target), failure="blocked-address", detail="private"), None)
    assert verdict.link_class == "blocked" and target in verdict.reason


def test_visible_text_and_similarity() -> None:
    body = b"<html><head><title>T</title><script>var x=1</script></head><body><p>Hello <b>world</b></p></body></html>"
    assert visible_text(body, "text/html") == "T Hello world"
    assert similarity("a b c d", "a b c d") == 1.0
    assert similarity("", "a") == 0.0
    assert 0.7 < similarity("a b c d", "a b c e") < 0.8
