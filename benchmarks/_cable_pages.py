"""Cable pages for the speed benchmarks: ``n`` pages of about 8 KB each, written as files for nginx.

Each page is the sample site's own cable page (``cablekeep.sample_site.cables.cable_page``, the
markup ``docs/sample-site-contract.md`` describes) for a made-up cable ``09ASTANA<n>``: the full
metadata table, a link to its original on the originals host, a cable text of ~5 KB (the seed
cable's text with the page number in it, so every payload differs and none becomes a revisit)
whose REF line cites three other cables of the set, and 24 linked sources: about 30 URLs a page,
as on the real site. The extractor finds the text and the citations on every page.

    from _cable_pages import write_site
    paths = write_site(root, pages=10_000, original_base="http://127.0.0.2:8080")
    # root/cable/09ASTANA1 ... root/cable/09ASTANA10000 (no suffix, served as text/html)
"""

from __future__ import annotations

from pathlib import Path

from cablekeep.sample_site.cables import SampleCable, cable_page

PAGE_BYTES = 8_192
SOURCES = 24
_BODY = (
    "1. (SBU) SUMMARY: Concerned about governmental retaliation for his role in reporting on the recent "
    "events in Andijon, Uzbek human rights observer Lutfullo Shamsudinov fled with his family to Kazakhstan "
    "in late May. UNHCR formally determined on June 24 that Shamsudinov was a bona fide refugee, notified "
    "the GOK of its determination, and began resettlement proceedings. Migration Police in Almaty, however, "
    "detained the entire family on July 4 pursuant to a law enforcement request from the GOU. END SUMMARY.\n"
    "2. (SBU) UNHCR Almaty-based protection officer Narasima Rao told Emboff on July 6 that UNHCR is facing "
    "an increasingly hardened front from GOK authorities on Shamsudinov. The state prosecutor handling the "
    "case refused Rao's July 5 request for access to Shamsudinov. Rao characterized the prosecutor's tone "
    "as very aggressive. The prosecutor indicated, however, that if the MFA gave the green light, he would "
    "release Shamsudinov.\n"
)


def cable_id(n: int) -> str:
    """The made-up ID of page ``n`` (1-based)."""
    return f"09ASTANA{n}"


def page(n: int, pages: int, original_base: str) -> bytes:
    """Page ``n`` of ``pages``, padded with cable text to about :data:`PAGE_BYTES`."""
    cited = [1 + (n * k) % pages for k in (7, 13, 29)]
    refs = " ".join(f"{'ABC'[i]}. ASTANA {c}" for i, c in enumerate(cited))
    head = (
        f"UNCLAS ASTANA {n:06d}\nSIPDIS\nE.O. 12958: N/A\nTAGS: PGOV PREL KDEM PHUM\n"
        f"SUBJECT: BENCHMARK CABLE {n}\nREF: {refs}\n\n"
    )
    sources = tuple((f"/doc/bench-{n}-{k}.html", f"Source {k} of cable {n}") for k in range(SOURCES))
    text = head
    while True:
        cable = SampleCable(
            id=cable_id(n), subject=f"Benchmark cable {n}", origin="Embassy Astana",
            created="2009-03-04 05:06:07", classification="UNCLASSIFIED", tags=("PGOV", "PREL", "KZ"),
            redacted="This cable was not redacted by Wikileaks.", text=text + "11. (U) Page " + str(n) + ".\n",
            sources=sources,
        )
        body = cable_page(cable, original_base)
        if len(body) >= PAGE_BYTES - 300:
            return body
        text += _BODY


def write_site(root: Path, pages: int, original_base: str) -> list[str]:
    """Write pages 1..``pages`` under ``root/cable/``; returns their paths (``/cable/<ID>``)."""
    folder = root / "cable"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(1, pages + 1):
        (folder / cable_id(n)).write_bytes(page(n, pages, original_base))
        paths.append(f"/cable/{cable_id(n)}")
    return paths
