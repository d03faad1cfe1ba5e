"""The content of the sample cable site: the cables, the roles some IDs play, and the pages made from them.

Forty-four cables from Central Asia in 2005-2006. ``05ALMATY2503`` is the real page the project began
from, with every word of its text (line breaks put back so it reads like a cable). All the other
texts are synthetic, written for tests and the demo: plausible in form, not real cables.

Cables cite each other in the formats real cables use, so a crawl that follows citations grows:
``REF: A. ALMATY 2401 B. STATE 112233`` (05ALMATY2610), ``Ref: A) 05 Almaty 4353 B) Almaty 1437``
(05ALMATY4460), ``REF: 06 ASTANA 919`` (06ASTANA1102), a bare ``05ALMATY2401`` in the text
(05ALMATY2610), ``A. STATE 112233 B. SECSTATE 4455`` (05ALMATY3120, no ``REF:`` label) and a REF
line spread over two lines (06ASTANA919). A citation without a year takes the citing cable's year;
SECSTATE is STATE.

Roles (IDs as the cable site spells them; the constants below are the source of truth):

=====================  ==========================================================================
demo seeds             05ALMATY2503 (cites nothing; cited by 05DUSHANBE1120, 05ALMATY2542,
                       05STATE125880, 06ASTANA604, 06ASTANA919), 05ALMATY2401, 06ASTANA919
missing (404)          05STATE112233 (cited by 05ALMATY2401, 05ALMATY2610, 05ALMATY3120),
                       06BISHKEK88 (by 06BISHKEK520), 06STATE30411 (by 06STATE61220)
moved (301)            05ALMATY1437 -> 05ALMATY1473 (cited by 05ALMATY2401 and 05ALMATY4460)
soft 404 (200)         05ALMATY4353 (cited by 05ALMATY4460 and 06ASTANA919): "Cable not found"
malformed markup       05BISHKEK412, 05TASHKENT1190, 05ALMATY2210, 05DUSHANBE1120,
                       05BUENOSAIRES1702, 06ALMATY311
original missing       05USUNNEWYORK1102, 06ALMATY311 (their "View at Wikileaks.org" link is a 404)
sources block          05TASHKENT1190, 05ALMATY2401, 05ALMATY2503, 05BISHKEK1299, 05ALMATY4460,
                       06ASTANA919
gone document (404)    /doc/hrw-andijan-2005-06.html (05TASHKENT1190),
                       /doc/kz-draft-refugee-law-2006.html (06ASTANA919)
redirected doc (302)   /doc/unhcr-2005-07-04.html -> /doc/archive/2005/unhcr-2005-07-04.html
                       (05ALMATY2503)
robots-disallowed      /private/editor-notes/05ALMATY2401.html on the cable site (05ALMATY2401);
                       it answers 200, but robots.txt disallows /private/
=====================  ==========================================================================

From the demo seeds, depth 1 reaches 05ALMATY1437 (301), 05STATE112233 (404) and 05ALMATY4353
(soft 404); 05ALMATY2401 alone reaches the first two.

A source path under ``/doc/`` is on the originals host; any other source path is on the cable site
and is written as a site-relative link.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

ORIGINAL_RELEASED = "2011-08-30 01:44"  # the "Released" column of every original page
SITE_RELEASE = "cablebrowser-2, released 2011-10-04"
DISCLAIMER = (
    "Disclaimer: This site has been first put up 15 years ago. Since then I would probably do a couple "
    "things differently, but because I've noticed this site had been linked from news outlets, PhD theses "
    "and peer rewieved papers and because I really hate the concept of \"digital dark age\" I've decided "
    "to put it back up. There's no chance it can produce any harm now."
)
PARTIAL_NOTE = (
    "This record is a partial extract of the original cable. "
    "The full text of the original cable is not available."
)
NOT_FOUND_TEXT = "Cable not found"

DEMO_SEEDS: tuple[str, ...] = ("05ALMATY2503", "05ALMATY2401", "06ASTANA919")

# Cited by cables on the site, never published: the cable site answers 404.
MISSING_IDS: tuple[str, ...] = ("05STATE112233", "06BISHKEK88", "06STATE30411")

# Old ID -> new ID; the old URL answers 301 to the new one. cablebrowser-1 listed 05ALMATY1473 under
# 05ALMATY1437, the transposed serial under which 05ALMATY2401 and 05ALMATY4460 cite it ("ALMATY
# 1437"); cablebrowser-2 moved the page to the cable's real ID and kept the old URL as a redirect.
MOVED_IDS: Mapping[str, str] = MappingProxyType({"05ALMATY1437": "05ALMATY1473"})

# Cited IDs that answer 200 with a page saying "Cable not found" and no metadata table.
SOFT_404_IDS: tuple[str, ...] = ("05ALMATY4353",)

# Source documents (paths on the originals host) that are gone: 404.
GONE_DOCUMENTS: tuple[str, ...] = ("/doc/hrw-andijan-2005-06.html", "/doc/kz-draft-refugee-law-2006.html")

# Source documents that moved (old path -> new path on the originals host): 302 to the new path.
REDIRECTED_DOCUMENTS: Mapping[str, str] = MappingProxyType(
    {"/doc/unhcr-2005-07-04.html": "/doc/archive/2005/unhcr-2005-07-04.html"}
)

# The rules of the cable site's robots.txt (the originals host allows everything) ...
ROBOTS_DISALLOW_PREFIXES: tuple[str, ...] = ("/private/",)
# ... and the paths on the cable site that pages link to and robots.txt disallows (they answer 200).
ROBOTS_DISALLOWED_PATHS: tuple[str, ...] = ("/private/editor-notes/05ALMATY2401.html",)

# The originals host names some posts differently from the cable site, as the real sites did.
_ORIGINAL_ORIGINS: Mapping[str, str] = MappingProxyType({"US Office Almaty": "Embassy Almaty"})


@dataclass(frozen=True)
class SampleCable:
    """One cable of the sample site, as its page shows it."""

    id: str
    subject: str
    origin: str
    created: str  # "YYYY-MM-DD HH:MM:SS"
    classification: str
    tags: tuple[str, ...]
    redacted: str
    text: str
    sources: tuple[tuple[str, str], ...] = ()  # (path, title)
    malformed: bool = False  # written in 2011-era markup
    original: Literal["ok", "missing"] = "ok"  # whether the originals host has the original page


SAMPLE_CABLES: tuple[SampleCable, ...] = (
    SampleCable(
        id="05STATE4455",
        subject="OSCE CHAIRMANSHIP 2009: GUIDANCE ON KAZAKHSTAN'S CANDIDACY",
        origin="Secretary of State",
        created="2005-01-10 21:14:00",
        classification="UNCLASSIFIED",
        tags=("PREL", "OSCE", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 004455

SIPDIS

ALMATY FOR AMBASSADOR; USOSCE FOR DELEGATION

E.O. 12958: N/A
TAGS: PREL, OSCE, KZ
SUBJECT: OSCE CHAIRMANSHIP 2009: GUIDANCE ON KAZAKHSTAN'S CANDIDACY

1. (U) This is an action request for Embassy Almaty. Please see
paragraph 4.

2. (U) Kazakhstan has formally announced its candidacy for the 2009
OSCE Chairmanship-in-Office. Participating States expect to decide
at the Ljubljana Ministerial in December, and several delegations
have asked Washington for its view.

3. (U) The United States has not taken a position on the candidacy.
Our view will depend on Kazakhstan's progress in meeting its OSCE
commitments, above all in the human dimension: the conduct of the
next presidential election, media freedom, and the treatment of
political parties and civil society.

4. (U) ACTION REQUEST: Post is requested to convey the points in
paragraph 3 to the MFA at an appropriate level and to report the
response.

5. (U) Minimize considered.

POWELL
""",
    ),
    SampleCable(
        id="05ALMATY311",
        subject="KAZAKHSTAN: MFA MAKES ITS CASE FOR THE 2009 OSCE CHAIRMANSHIP",
        origin="US Office Almaty",
        created="2005-01-27 10:15:00",
        classification="CONFIDENTIAL",
        tags=("PREL", "OSCE", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ALMATY 000311

SIPDIS

E.O. 12958: DECL: 01/27/2015
TAGS: PREL, OSCE, KDEM, KZ
SUBJECT: KAZAKHSTAN: MFA MAKES ITS CASE FOR THE 2009 OSCE
CHAIRMANSHIP

REF: STATE 4455

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: The Deputy Foreign Minister told the Ambassador on
January 25 that the OSCE chairmanship is a top foreign policy
priority for President Nazarbayev. He acknowledged that "questions
remain" about the human dimension but argued that the chairmanship
itself would be the best incentive for reform. END SUMMARY.

2. (C) The Ambassador delivered the points in reftel. The DFM
listened carefully and replied that Kazakhstan would be the first
CIS state, and the first Central Asian state, to chair the
organization. Its election would show that the OSCE does not end at
Vienna.

3. (C) Pressed on the upcoming presidential election, the DFM said
the GOK would invite ODIHR observers "as always" and would consider
amendments to the election law recommended by ODIHR after the 2004
parliamentary elections.

COMMENT
-------

4. (C) The GOK sees the chairmanship as a matter of national
prestige. The bid gives us real leverage ahead of the presidential
election, and we should use it. END COMMENT.

ORDWAY
""",
    ),
    SampleCable(
        id="05BISHKEK412",
        subject="KYRGYZSTAN: AKAYEV LEAVES, PROTESTERS HOLD THE WHITE HOUSE",
        origin="Embassy Bishkek",
        created="2005-03-25 06:30:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PREL", "KDEM", "KG"),
        redacted="This cable was not redacted by Wikileaks.",
        malformed=True,
        text="""\
C O N F I D E N T I A L BISHKEK 000412

SIPDIS

E.O. 12958: DECL: 03/25/2015
TAGS: PGOV, PREL, KDEM, KG
SUBJECT: KYRGYZSTAN: AKAYEV LEAVES, PROTESTERS HOLD THE WHITE HOUSE

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Demonstrators took over the presidential
administration building, the "White House", on the afternoon of
March 24 after police lines gave way. President Akayev's whereabouts
are unknown; he is reported to have left the country. Looting broke
out overnight in the city center. END SUMMARY.

2. (C) Several thousand protesters, many of them bused in from the
south, gathered on Ala-Too Square by late morning. Riot police
withdrew after brief scuffles, and a crowd entered the building
shortly after two in the afternoon. EmbOffs on the square saw no
firearms used.

3. (C) The Supreme Court annulled the results of the disputed
parliamentary runoffs, and late on March 24 the outgoing parliament
named opposition leader Kurmanbek Bakiyev acting prime minister.

4. (C) All Embassy staff are accounted for. The Embassy will stay
closed on March 25, and the warden system has advised Americans to
remain indoors after dark.

YOUNG
""",
    ),
    SampleCable(
        id="05ALMATY1473",
        subject="KAZAKHSTAN: GOK TIGHTENS BORDER AND MIGRATION CONTROLS AFTER BISHKEK EVENTS",
        origin="US Office Almaty",
        created="2005-04-19 11:20:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "KDEM", "SMIG", "KZ", "KG"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ALMATY 001473

SIPDIS

E.O. 12958: DECL: 04/19/2015
TAGS: PGOV, KDEM, SMIG, KZ, KG
SUBJECT: KAZAKHSTAN: GOK TIGHTENS BORDER AND MIGRATION CONTROLS
AFTER BISHKEK EVENTS

REF: 05 BISHKEK 412

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Since the change of power in Kyrgyzstan (reftel),
the GOK has stepped up checks on the Kyrgyz border and in the city's
markets, and Migration Police have carried out sweeps for
undocumented workers. Opposition leaders say the measures are aimed
at them. END SUMMARY.

2. (C) Migration Police told PolOff that about 1,200 foreigners were
detained in the first two weeks of April, most of them Kyrgyz and
Uzbek seasonal workers. Most were fined and released; some were
deported.

3. (C) Opposition figures argued that the sweeps are meant to deter
any attempt to repeat the Bishkek events before the presidential
election, and that the real targets are their own youth activists.

COMMENT
-------

4. (C) The GOK was visibly shaken by the speed of Akayev's fall.
Expect tighter control of public gatherings and of foreigners,
including asylum seekers, for some time. END COMMENT.

ORDWAY
""",
    ),
    SampleCable(
        id="05TASHKENT1190",
        subject="ANDIJON: SHOOTING IN THE CITY CENTER, CASUALTY FIGURES UNCLEAR",
        origin="Embassy Tashkent",
        created="2005-05-14 09:05:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PHUM", "PREL", "UZ"),
        redacted="This cable was redacted by Wikileaks.",
        sources=(
            (
                "/doc/hrw-andijan-2005-06.html",
                'Human Rights Watch, "Bullets Were Falling Like Rain", June 2005',
            ),
            (
                "/doc/osce-odihr-andijan-2005-06-20.html",
                "OSCE/ODIHR preliminary findings on the events in Andijan, 20 June 2005",
            ),
        ),
        malformed=True,
        text="""\
C O N F I D E N T I A L TASHKENT 001190

SIPDIS

E.O. 12958: DECL: 05/14/2015
TAGS: PGOV, PHUM, PREL, UZ
SUBJECT: ANDIJON: SHOOTING IN THE CITY CENTER, CASUALTY FIGURES
UNCLEAR

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Armed men seized the Andijon regional administration
building and freed inmates from the city prison overnight on May
12-13. On May 13 government troops fired on a large crowd gathered
on Bobur Square. Casualty figures are unclear; accounts reaching the
Embassy range from dozens to several hundred dead. The GOU has
sealed the city. END SUMMARY.

2. (C) Residents reached by telephone described armored vehicles
entering the square in the late afternoon and sustained firing for
more than an hour. Many in the crowd had come to hear speeches and
to demand the release of the local businessmen on trial.

3. (C) President Karimov flew to Andijon on May 13. In a televised
statement on May 14 he blamed "Islamic extremists" for the violence
and said that the security forces had not fired on civilians.

4. (C) The Embassy has asked for access for a diplomatic team. The
MFA has so far refused, citing security.

PURNELL
""",
    ),
    SampleCable(
        id="05TASHKENT1215",
        subject="ANDIJON: GOU LIMITS ACCESS AS RESIDENTS CROSS INTO KYRGYZSTAN",
        origin="Embassy Tashkent",
        created="2005-05-17 13:44:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PHUM", "PREF", "UZ", "KG"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L TASHKENT 001215

SIPDIS

E.O. 12958: DECL: 05/17/2015
TAGS: PGOV, PHUM, PREF, UZ, KG
SUBJECT: ANDIJON: GOU LIMITS ACCESS AS RESIDENTS CROSS INTO
KYRGYZSTAN

REF: TASHKENT 1190

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Several hundred residents of Andijon and nearby
villages have crossed into Kyrgyzstan since the shooting on May 13
(reftel). Roads into the city remain closed to journalists. The MFA
has announced a tour of Andijon for diplomats on May 18. END
SUMMARY.

2. (C) Contacts in Pakhtaobod district said that groups of men,
women and children walked to the border on May 14 and crossed after
Kyrgyz border guards let them through. Uzbek troops have since
reinforced the crossing points.

3. (C) The GOU has not published a casualty figure. The Prosecutor
General's office says an investigation is under way and that those
responsible will be brought to justice.

4. (C) The Embassy will take part in the May 18 tour but has told
the MFA that a tour is no substitute for an independent
international inquiry.

PURNELL
""",
    ),
    SampleCable(
        id="05BISHKEK951",
        subject="KYRGYZSTAN: UZBEK ASYLUM SEEKERS IN JALALABAD CAMP",
        origin="Embassy Bishkek",
        created="2005-05-20 08:12:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "KG", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS BISHKEK 000951

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, KG, UZ
SUBJECT: KYRGYZSTAN: UZBEK ASYLUM SEEKERS IN JALALABAD CAMP

REF: A. TASHKENT 1215 B. TASHKENT 1190

1. (SBU) SUMMARY: About 500 Uzbek citizens who fled Andijon (refs)
are in a makeshift camp near the border in Jalalabad oblast. UNHCR
has begun registering them. Uzbek officials have visited the camp
and urged them to return. END SUMMARY.

2. (SBU) EmbOffs visited the camp on May 19. Conditions are basic
but adequate; the Red Crescent supplies food and water, and MSF runs
a clinic. Most of the residents are men, and several are wounded.

3. (SBU) UNHCR told EmbOffs it is concerned about security, as the
camp lies only a few kilometers from the border, and has asked the
Kyrgyz authorities to move it further inland.

4. (SBU) Acting President Bakiyev has said publicly that Kyrgyzstan
will not return anyone against their will, but provincial officials
are under heavy pressure from their Uzbek counterparts.

YOUNG
""",
    ),
    SampleCable(
        id="05USUNNEWYORK1102",
        subject="UNSC: NO PRESS STATEMENT ON ANDIJON",
        origin="USUN New York",
        created="2005-05-26 21:10:00",
        classification="CONFIDENTIAL",
        tags=("PREL", "PHUM", "UNSC", "UZ"),
        redacted="This cable was redacted by Wikileaks.",
        original="missing",
        text="""\
C O N F I D E N T I A L USUN NEW YORK 001102

SIPDIS

E.O. 12958: DECL: 05/26/2015
TAGS: PREL, PHUM, UNSC, UZ
SUBJECT: UNSC: NO PRESS STATEMENT ON ANDIJON

REF: 05 TASHKENT 1190

Classified By: Deputy PermRep, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: A U.K. proposal for a Security Council press
statement on the May 13 events in Andijon (reftel) failed on May 25
when Russia and China objected. END SUMMARY.

2. (C) The Russian PermRep argued that the events were an internal
matter for Uzbekistan and that the Council should not comment on a
counter-terrorism operation. China agreed, and Algeria said it
needed instructions.

3. (C) USUN supported the U.K. text, which called for an independent
investigation. The U.K. does not intend to pursue a statement
further in the Council.

PATTERSON
""",
    ),
    SampleCable(
        id="05STATE101520",
        subject="DEMARCHE: SUPPORTING UNHCR ACCESS TO ANDIJON ASYLUM SEEKERS",
        origin="Secretary of State",
        created="2005-06-01 23:05:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "PHUM", "PREL", "KG", "UZ", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 101520

SIPDIS

BISHKEK, ALMATY AND DUSHANBE FOR AMBASSADORS

E.O. 12958: N/A
TAGS: PREF, PHUM, PREL, KG, UZ, KZ
SUBJECT: DEMARCHE: SUPPORTING UNHCR ACCESS TO ANDIJON ASYLUM SEEKERS

REF: BISHKEK 951

1. (U) This is an action request. See paragraph 3.

2. (U) BACKGROUND: Several hundred Uzbek citizens fled to Kyrgyzstan
after the Andijon events, and smaller numbers have reached
Kazakhstan and Tajikistan. Uzbek officials are pressing neighboring
governments to return them.

3. (U) ACTION REQUEST: Posts are requested to urge host governments
to allow UNHCR full access to asylum seekers from Uzbekistan, and
not to return any person to Uzbekistan before UNHCR has determined
whether he or she is a refugee.

4. (U) Please report responses by June 8.

RICE
""",
    ),
    SampleCable(
        id="05KUALALUMPUR2301",
        subject="MALAYSIA AS OIC CHAIR KEEPS SILENT ON ANDIJON",
        origin="Embassy Kuala Lumpur",
        created="2005-06-02 10:40:00",
        classification="CONFIDENTIAL",
        tags=("PREL", "PHUM", "OIC", "MY", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L KUALA LUMPUR 002301

SIPDIS

E.O. 12958: DECL: 06/02/2015
TAGS: PREL, PHUM, OIC, MY, UZ
SUBJECT: MALAYSIA AS OIC CHAIR KEEPS SILENT ON ANDIJON

REF: A. STATE 101520 B. TASHKENT 1215

Classified By: Political Counselor, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: The Foreign Ministry's OIC desk told PolOff on June
1 that Malaysia, as chair of the Organization of the Islamic
Conference, does not plan to comment on the Andijon events. END
SUMMARY.

2. (C) PolOff drew on ref A. The desk officer said that the OIC does
not take positions on the internal affairs of member states and that
Uzbekistan had briefed OIC members in Jeddah on its version of
events.

3. (C) Asked whether Malaysia would support UNHCR access to those
who fled (ref B), he said that humanitarian access was "a different
matter" and promised to raise it with his director.

LAFLEUR
""",
    ),
    SampleCable(
        id="05ALMATY2210",
        subject="KAZAKHSTAN: UZBEK ASYLUM SEEKERS REACH SOUTH KAZAKHSTAN",
        origin="US Office Almaty",
        created="2005-06-13 14:02:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        malformed=True,
        text="""\
UNCLAS ALMATY 002210

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, KZ, UZ
SUBJECT: KAZAKHSTAN: UZBEK ASYLUM SEEKERS REACH SOUTH KAZAKHSTAN

REF: STATE 101520

1. (SBU) SUMMARY: UNHCR told PolOff on June 10 that at least 30
Uzbek citizens who left Uzbekistan after the Andijon events have
approached its local office. Some of them spent time in the camp in
Kyrgyzstan first. END SUMMARY.

2. (SBU) Post delivered the points in reftel to the MFA on June 3.
The MFA replied that Kazakhstan will honor its obligations under the
1951 Convention, to which it acceded in 1999, but that "criminals"
wanted by a neighboring state will be handled through law
enforcement channels.

3. (SBU) UNHCR is registering the new arrivals and has asked the
Migration Police not to detain anyone holding a UNHCR asylum seeker
certificate.

COMMENT
-------

4. (SBU) The MFA's distinction between refugees and "criminals" is
worrying, since the GOU has issued criminal charges against many of
those who fled. END COMMENT.

ORDWAY
""",
    ),
    SampleCable(
        id="05ALMATY2401",
        subject="KAZAKHSTAN: UNHCR SEEKS GOK COOPERATION ON UZBEK REFUGEES",
        origin="US Office Almaty",
        created="2005-06-28 09:31:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "PREL", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        sources=(
            ("/doc/unhcr-kz-note-2005-06.html", "UNHCR Kazakhstan situation note, June 2005"),
            ("/private/editor-notes/05ALMATY2401.html", "Editor's notes"),
        ),
        text="""\
UNCLAS ALMATY 002401

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, PREL, KZ, UZ
SUBJECT: KAZAKHSTAN: UNHCR SEEKS GOK COOPERATION ON UZBEK REFUGEES

REF: A. ALMATY 1437 B. STATE 112233

1. (SBU) SUMMARY: UNHCR plans to ask the GOK to let Uzbek refugees
recognized under its mandate stay in Kazakhstan until they are
resettled. The number of Uzbeks approaching UNHCR has grown steadily
since early June (05ALMATY2210). END SUMMARY.

2. (SBU) UNHCR's head of office told PolOff on June 27 that 52 Uzbek
citizens are now registered. UNHCR has recognized several of them as
refugees and will start resettlement proceedings.

3. (SBU) The main risk, in UNHCR's view, is the Migration Police,
whose sweeps this spring (ref A) netted several asylum seekers.
UNHCR wants a written instruction from the MFA telling the police to
respect UNHCR documents.

4. (SBU) Post will support UNHCR's request with the MFA, drawing on
ref B.

ORDWAY
""",
    ),
    SampleCable(
        id="05ALMATY2503",
        subject="DETAINED UZBEK REFUGEE FACING DEPORTATION",
        origin="US Office Almaty",
        created="2005-07-06 12:08:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PGOV", "PREL", "KDEM", "PHUM", "PINR", "SMIG", "IO", "UZ", "KZ", "POLITICAL"),
        redacted="This cable was not redacted by Wikileaks.",
        sources=(
            ("/doc/unhcr-2005-07-04.html", "UNHCR statement, 4 July 2005"),
            ("/doc/ilhr-appeal-2005-07-05.html", "International League for Human Rights appeal, 5 July 2005"),
        ),
        text="""\
UNCLAS ALMATY 002503

SIPDIS

STATE FOR EUR/CACEN (J. MUDGE), DRL/PHD (P. DAVIS, C. KUCHTA-
HELBLING), AND PRM/ECA (E. TOURE, T. TARGOS)
TBILISI FOR REFCOORD SARGE CHEEVER

SENSITIVE

E.O. 12958: N/A
TAGS: PGOV, PREL, KDEM, PHUM, PINR, SMIG, IO, UZ, KZ, POLITICAL
SUBJECT: DETAINED UZBEK REFUGEE FACING DEPORTATION

1. (SBU) SUMMARY: Concerned about governmental retaliation for his
role in reporting on the recent events in Andijon, Uzbek human
rights observer Lutfullo Shamsudinov fled with his family to
Kazakhstan in late May. UNHCR formally determined on June 24 that
Shamsudinov was a bona fide refugee, notified the GOK of its
determination, and began resettlement proceedings. Migration Police
in Almaty, however, detained the entire family on July 4 pursuant to
a law enforcement request from the GOU. Although his family was
later released, Shamsudinov remains in detention. UNHCR and Embassy
have pressed for Shamsudinov's release, but some local authorities
are maintaining that he must be returned to Uzbekistan to face
criminal charges. END SUMMARY.

BACKGROUND AND TIMELINE
-----------------------

2. (SBU) Lutfullo Shamsudinov, a well-known Uzbek human rights
observer who worked in the NGO community and as a contributor for
foreign press agencies, fled Uzbekistan and sought refuge in
Kazakhstan following the events in Andijon and contacted the UNHCR
office in Almaty to request assistance. Through a local human rights
NGO, Shamsudinov received a small subsistence grant from
International League for Human Rights, which enabled him to obtain
temporary lodging for his family of seven. On June 24, Shamsudinov
received a UNHCR refugee certificate indicating that he had been
determined to be a refugee under the UNHCR mandate and that he and
his family were awaiting resettlement.

3. (SBU) Prior to UNHCR's determination, Shamsudinov reached out to
press and international contacts to publicize his plight and request
assistance. Shamsudinov contacted the Embassy and expressed fear
that he and/or his family would be kidnapped by the Uzbek government
and forcibly returned to Uzbekistan. UNHCR, Post and other
international observers remained in close contact to monitor the
situation. On July 4, Migration Police in Almaty detained the family
pursuant to a law enforcement bulletin issued by the GOU. Although
Shamsudinov's family was released within hours, Shamsudinov remains
in custody, and UNHCR has had little success in gaining access to
him, much less getting him released.

BACK AND FORTH WITH THE GOK
---------------------------

4. (SBU) UNHCR Almaty-based protection officer Narasima Rao told
Emboff on July 6 that UNHCR is facing an increasingly hardened front
from GOK authorities on Shamsudinov. The state prosecutor handling
the case refused Rao's July 5 request for access to Shamsudinov,
calling the Uzbek a "terrorist". Rao characterized the prosecutor's
tone as "very aggressive." The prosecutor indicated, however, that
if the MFA gave the green light, he would release Shamsudinov.

5. (SBU) MFA, however, has proved difficult to pin down. On July 6,
UNHCR was unable to reach Deputy Foreign Minister Shakirov, with
whom the UNHCR had a hitherto good working relationship. Both Rao
and UNHCR Astana field officer Branislav Kojic reported feeling
stonewalled by working level contacts, some of whom blamed lack of
availability on the July 5-6 Shanghai Cooperation Organization (SCO)
Summit in Astana. Interventions by UNHCR in Geneva also yielded
little progress. At a July 5 meeting with the UNHCR head for Central
Asia, Africa, and the Middle East, the Kazakhstani Head of the
Permanent Mission to the UN in Geneva said that while Kazakhstan
would not deport refugees, authorities were free to send
"terrorists" back at the request of neighboring countries.

6. (SBU) Rao was surprised at Kazakhstan's detention of Shamsudinov.
He said that at a June 29 meeting with Cesare Dubon, the UNHCR chief
for Central Asia, DFM Shakirov reacted positively, if guardedly, to
a suggestion that the GOK play a leading role in the refugee crisis,
including setting up a "humanitarian corridor". Although the GOK has
been reluctant to pass a Refugee Law to formalize commitments to
international standards of protection, the country does not have a
history of forcibly deporting refugees back to the country they
fled.

7. (SBU) Rao asserted that the next twenty-four to forty eight hours
are crucial for Shamsudinov. If not released in that time, he
believes Shamsudinov would most likely be deported back to
Uzbekistan. UNHCR is hoping that the GOK will release Shamsudinov on
the condition that he leaves the country almost immediately
thereafter.

POST ACTION
-----------

8. (SBU)Since Shamsudinov contacted us on the night of his
detention, July 4th, we have been in closely monitoring the
situation. EmbOffs in Almaty and Astana have been coordinating with
their UNHCR counterparts, as well as contacts at IOM, OSCE, local
NGOs, and other Embassies. On June 30, Astana Principal Officer
demarched MFA's Director for Economic and Humanitarian Cooperation
Akan Rakhmetulin, to express strong USG support for UNHCR's request
that Kazakhstan accept refugees from neighboring countries pursuant
to UNHCR resettlement proceedings. Based on concerns about the
Shamsudinov case, Astana PO delivered a non-paper on July 5 to MFA
Chief of Department of Americas and Europe Jandos Asanov, requesting
that the GOK extend all appropriate rights and protections to
Shamsudinov based on his formal refugee status. MFA remained
noncommittal during both exchanges, although Asanov acknowledged the
serious nature of Shamsudinov's case.

9. (SBU) Ambassador's attempt to reach FM Tokayev were rebuffed on
July 5th and 6th on grounds that the Minister was busy with the
President and could not speak to the Ambassador by telephone. The
Ambassador did manage to reach Presidential Assistant Karim Masimov
who promised to look into the matter and get back to him. Questions
were also raised at the Ambassador's regularly scheduled press
conference earlier on July 6th, allowing him to express publicly our
concern and make clear the GOK's obligation not to return
Shamsudinov to Uzbekistan.

COMMENT
-------

10. (SBU) Karimov's presence is Astana for the SCO meeting may have
played a role in the decision to detain Shamsudinov. Privately,
Kazakhstani officials have been scathing about his rule in
Uzbekistan. However, President Nazarbayev's approving comments on
the eve of the SCO about the approach the GOU took in Andijon
signaled a far more accommodating line towards Karimov. Shamsudinov
may be an unfortunate victim of this approach unless the GOK can be
convinced that the damage to their international reputation, and
interests ranging from U.S. certification to their campaign for the
OSCE Chairmanship-in-office, are a price too high to pay for
approving Karimov.

11. (U) Minimize for Dushanbe considered.

ORDWAY

NNNN
""",
    ),
    SampleCable(
        id="05DUSHANBE1120",
        subject="TAJIKISTAN: NO ANDIJON REFUGEES REGISTERED; GOT WARY OF UZBEK PRESSURE",
        origin="Embassy Dushanbe",
        created="2005-07-07 08:55:00",
        classification="CONFIDENTIAL",
        tags=("PREF", "PHUM", "PREL", "TI", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        malformed=True,
        text="""\
C O N F I D E N T I A L DUSHANBE 001120

SIPDIS

E.O. 12958: DECL: 07/07/2015
TAGS: PREF, PHUM, PREL, TI, UZ
SUBJECT: TAJIKISTAN: NO ANDIJON REFUGEES REGISTERED; GOT WARY OF
UZBEK PRESSURE

REF: ALMATY 2503

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) Embassy Dushanbe has followed with concern the detention of
Uzbek refugee Lutfullo Shamsudinov in Kazakhstan (reftel).

2. (C) UNHCR's office here told us on July 6 that it has registered
no asylum seekers from Andijon. It believes a small number crossed
into Sughd province in May but moved on to Russia.

3. (C) A senior MFA official said that Tajikistan would "study" any
Uzbek extradition request on its merits, but noted pointedly that
the GOT depends on Uzbekistan for rail transit and gas.

COMMENT
-------

4. (C) The GOT will not want a public quarrel with Tashkent over
individual cases. Should any Andijon refugees surface here, early
and quiet engagement with the MFA will be essential. END COMMENT.

HOAGLAND
""",
    ),
    SampleCable(
        id="05ALMATY2542",
        subject="KAZAKHSTAN: SHAMSUDINOV UPDATE - UNHCR GAINS ACCESS",
        origin="US Office Almaty",
        created="2005-07-08 16:20:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "PREL", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ALMATY 002542

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, PREL, KZ, UZ
SUBJECT: KAZAKHSTAN: SHAMSUDINOV UPDATE - UNHCR GAINS ACCESS

REF: A. ALMATY 2503 B. ALMATY 2401

1. (SBU) SUMMARY: UNHCR protection staff met detained Uzbek refugee
Lutfullo Shamsudinov (ref A) on July 7 for the first time since his
arrest. He is in good health. The prosecutor has not yet ruled on
the Uzbek extradition request. END SUMMARY.

2. (SBU) UNHCR told EmbOff that access was granted after the MFA
intervened late on July 6. Shamsudinov told UNHCR that he had not
been mistreated but that Uzbek officers had questioned him on July 5
without a lawyer present.

3. (SBU) UNHCR has asked resettlement countries to consider an
emergency submission for the family, in line with its broader
request to the GOK (ref B).

4. (SBU) Post continues to raise the case at every level.

ORDWAY
""",
    ),
    SampleCable(
        id="05BISHKEK1180",
        subject="KYRGYZSTAN: BAKIYEV WINS PRESIDENTIAL ELECTION IN LANDSLIDE",
        origin="Embassy Bishkek",
        created="2005-07-11 05:47:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "KG"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS BISHKEK 001180

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, KG
SUBJECT: KYRGYZSTAN: BAKIYEV WINS PRESIDENTIAL ELECTION IN LANDSLIDE

REF: 05 BISHKEK 412

1. (U) SUMMARY: Acting President Kurmanbek Bakiyev won the July 10
presidential election with about 89 percent of the vote, according
to preliminary results. Turnout was about 75 percent. END SUMMARY.

2. (U) Embassy observers visited polling stations in Bishkek, Osh
and Jalalabad. Voting was orderly, and observers reported far fewer
problems than in the parliamentary elections earlier this year
(reftel).

3. (U) The OSCE/ODIHR preliminary statement, issued July 11, found
"tangible progress" while noting problems with voter lists and the
vote count.

YOUNG
""",
    ),
    SampleCable(
        id="05STATE125880",
        subject="SHAMSUDINOV CASE: POINTS FOR THE GOK",
        origin="Secretary of State",
        created="2005-07-12 18:33:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "PREL", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 125880

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, PREL, KZ, UZ
SUBJECT: SHAMSUDINOV CASE: POINTS FOR THE GOK

REF: A. ALMATY 2503 B. ALMATY 2542

1. (SBU) Embassy Almaty may draw on the following points with the
GOK on the case of Uzbek refugee Lutfullo Shamsudinov (refs).

2. (SBU) BEGIN POINTS: -- The United States welcomes UNHCR's access
to Mr. Shamsudinov. -- He has been recognized as a refugee under the
UNHCR mandate. Returning him to Uzbekistan would be inconsistent
with Kazakhstan's obligations under the 1951 Refugee Convention. --
We urge the GOK to release him so that resettlement can proceed
without delay. END POINTS.

3. (SBU) Department appreciates Post's reporting and its efforts on
this case.

RICE
""",
    ),
    SampleCable(
        id="05ALMATY2610",
        subject="KAZAKHSTAN: SHAMSUDINOV DEPARTS FOR RESETTLEMENT",
        origin="US Office Almaty",
        created="2005-07-13 12:12:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ALMATY 002610

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, KZ, UZ
SUBJECT: KAZAKHSTAN: SHAMSUDINOV DEPARTS FOR RESETTLEMENT

REF: A. ALMATY 2401 B. STATE 112233

1. (SBU) SUMMARY: Uzbek refugee Lutfullo Shamsudinov was released
from detention on July 12 and left Kazakhstan the same evening with
his family for resettlement in a third country. END SUMMARY.

2. (SBU) UNHCR told EmbOff that the prosecutor dropped the Uzbek
extradition request after the MFA confirmed Shamsudinov's refugee
status in writing. UNHCR staff escorted the family to the airport.

3. (SBU) UNHCR's broader request for a written instruction to the
Migration Police (05ALMATY2401) remains unanswered, and the case
shows how quickly a refugee can be put at risk without one.

COMMENT
-------

4. (SBU) A good outcome, but a narrow one. We will keep pressing the
points in ref B. END COMMENT.

ORDWAY
""",
    ),
    SampleCable(
        id="05TASHKENT1790",
        subject="UZBEKISTAN: GOU GIVES NOTICE ON KARSHI-KHANABAD",
        origin="Embassy Tashkent",
        created="2005-07-30 11:00:00",
        classification="SECRET",
        tags=("PREL", "MARR", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
S E C R E T TASHKENT 001790

SIPDIS

E.O. 12958: DECL: 07/30/2015
TAGS: PREL, MARR, UZ
SUBJECT: UZBEKISTAN: GOU GIVES NOTICE ON KARSHI-KHANABAD

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (S) SUMMARY: The MFA handed the Embassy a diplomatic note on July
29 giving the United States 180 days to withdraw from
Karshi-Khanabad air base. END SUMMARY.

2. (S) The note cites no reason. MFA officials privately linked it
to U.S. support for the evacuation of Uzbek refugees from Kyrgyzstan
and to U.S. calls for an international inquiry into Andijon.

3. (S) DATT is preparing a withdrawal timeline with CENTCOM.
Operations continue for now.

PURNELL
""",
    ),
    SampleCable(
        id="05BISHKEK1299",
        subject="KYRGYZSTAN: UNHCR FLIES 439 UZBEKS TO ROMANIA",
        origin="Embassy Bishkek",
        created="2005-08-01 09:30:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "PHUM", "KG", "UZ", "RO"),
        redacted="This cable was not redacted by Wikileaks.",
        sources=(
            ("/doc/unhcr-briefing-2005-07-29.html", "UNHCR briefing notes, 29 July 2005"),
        ),
        text="""\
UNCLAS BISHKEK 001299

SIPDIS

E.O. 12958: N/A
TAGS: PREF, PHUM, KG, UZ, RO
SUBJECT: KYRGYZSTAN: UNHCR FLIES 439 UZBEKS TO ROMANIA

REF: A. BISHKEK 951 B. STATE 101520

1. (U) SUMMARY: UNHCR flew 439 Uzbek refugees from the camp in
Jalalabad oblast (ref A) to an emergency transit center in Romania
on July 29, ahead of resettlement. END SUMMARY.

2. (U) The evacuation followed weeks of pressure on the Kyrgyz
government from Uzbekistan to return the group, and a steady stream
of demarches in support of UNHCR (ref B). Fifteen men whose cases
are still under review remain in custody in Osh.

3. (U) The GOU has called the evacuation "interference" and demanded
that the refugees be handed over.

YOUNG
""",
    ),
    SampleCable(
        id="05STATE140101",
        subject="K2 NOTICE: PRESS GUIDANCE FOR POSTS",
        origin="Secretary of State",
        created="2005-08-01 22:10:00",
        classification="UNCLASSIFIED",
        tags=("PREL", "MARR", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 140101

SIPDIS

E.O. 12958: N/A
TAGS: PREL, MARR, UZ
SUBJECT: K2 NOTICE: PRESS GUIDANCE FOR POSTS

REF: TASHKENT 1790

1. (U) Posts may draw on the following press guidance on the Uzbek
government's notice regarding Karshi-Khanabad air base (reftel).

2. (U) BEGIN GUIDANCE: Q: Will the United States leave K2? A: We
have received the note and are studying it. The base has supported
operations in Afghanistan, and we have other options. We continue to
call for an independent investigation of the events in Andijon. END
GUIDANCE.

RICE
""",
    ),
    SampleCable(
        id="05BUENOSAIRES1702",
        subject="ARGENTINA: GOA OPEN TO RESETTLING UZBEK REFUGEES",
        origin="Embassy Buenos Aires",
        created="2005-08-04 15:25:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "AR", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        malformed=True,
        text="""\
UNCLAS BUENOS AIRES 001702

SIPDIS

E.O. 12958: N/A
TAGS: PREF, AR, UZ
SUBJECT: ARGENTINA: GOA OPEN TO RESETTLING UZBEK REFUGEES

REF: 05 BISHKEK 1299

1. (U) The Foreign Ministry's refugee office told PolOff on August 3
that Argentina is prepared to consider a small number of the Uzbek
refugees now in Romania (reftel) under its solidarity resettlement
program.

2. (U) Argentina resettled its first refugees under the Mexico Plan
of Action this year, mostly Colombians. Officials noted that
language and the lack of an Uzbek community would make integration
harder.

3. (U) The office expects a formal request from UNHCR later this
month.

GUTIERREZ
""",
    ),
    SampleCable(
        id="05ALMATY3120",
        subject="KAZAKHSTAN: OSCE BID AND THE PRESIDENTIAL ELECTION",
        origin="US Office Almaty",
        created="2005-08-30 10:05:00",
        classification="CONFIDENTIAL",
        tags=("PREL", "OSCE", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ALMATY 003120

SIPDIS

E.O. 12958: DECL: 08/30/2015
TAGS: PREL, OSCE, KDEM, KZ
SUBJECT: KAZAKHSTAN: OSCE BID AND THE PRESIDENTIAL ELECTION

A. STATE 112233 B. SECSTATE 4455

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: With the presidential election now set for December
4, the MFA is lobbying hard for the 2009 OSCE chairmanship. Our
message that the election will weigh heavily in our decision is
being heard. END SUMMARY.

2. (C) The Ambassador raised refugee protection (ref A) and the OSCE
bid (ref B) with the Foreign Minister on August 29. Tokayev said
that the Shamsudinov case showed that Kazakhstan keeps its
commitments.

3. (C) Tokayev asked for U.S. support at Ljubljana. The Ambassador
replied that the conduct of the election would be the single most
important factor in our position.

ORDWAY
""",
    ),
    SampleCable(
        id="05ALMATY3560",
        subject="KAZAKHSTAN: FIVE CANDIDATES REGISTERED FOR DECEMBER 4 ELECTION",
        origin="US Office Almaty",
        created="2005-10-06 09:40:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ALMATY 003560

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, KZ
SUBJECT: KAZAKHSTAN: FIVE CANDIDATES REGISTERED FOR DECEMBER 4
ELECTION

1. (U) The Central Election Commission registered five presidential
candidates on October 5: President Nazarbayev; Zharmakhan Tuyakbay
of For a Just Kazakhstan; Alikhan Baimenov of Ak Zhol; Yerasyl
Abylkasymov of the Communist People's Party; and Mels Yeleusizov, an
environmentalist.

2. (U) Opposition candidate Tuyakbay complained that his signature
sheets were checked far more strictly than the President's. The CEC
rejected his complaint.

3. (U) The official campaign begins on October 5 and ends on
December 3.

ORDWAY
""",
    ),
    SampleCable(
        id="05USUNNEWYORK2010",
        subject="UNGA THIRD COMMITTEE: PROSPECTS FOR AN UZBEKISTAN RESOLUTION",
        origin="USUN New York",
        created="2005-10-28 20:15:00",
        classification="UNCLASSIFIED",
        tags=("PHUM", "UNGA", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS USUN NEW YORK 002010

SIPDIS

E.O. 12958: N/A
TAGS: PHUM, UNGA, UZ
SUBJECT: UNGA THIRD COMMITTEE: PROSPECTS FOR AN UZBEKISTAN
RESOLUTION

REF: A. 05 TASHKENT 1215 B. 05 USUN NEW YORK 1102

1. (U) The EU plans to table a resolution on the human rights
situation in Uzbekistan in the Third Committee in November. It will
call for an independent investigation of the Andijon events (ref A)
and for access for UN special rapporteurs.

2. (U) Given the outcome of earlier efforts in the Security Council
(ref B), the EU expects a close vote. Russia and China are already
lobbying against the text.

3. (U) USUN will co-sponsor and will seek support from Latin
American delegations.

BOLTON
""",
    ),
    SampleCable(
        id="05STATE205311",
        subject="KAZAKHSTAN ELECTION: USG OBSERVERS FOR THE ODIHR MISSION",
        origin="Secretary of State",
        created="2005-11-08 19:02:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "OSCE", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 205311

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, OSCE, KZ
SUBJECT: KAZAKHSTAN ELECTION: USG OBSERVERS FOR THE ODIHR MISSION

REF: ALMATY 3560

1. (U) The Department will send 20 short-term observers to join the
OSCE/ODIHR mission for the December 4 presidential election in
Kazakhstan (reftel).

2. (U) Embassy Almaty is requested to arrange deployment briefings
on December 1 and to provide drivers and interpreters.

3. (U) Observers should arrive no later than November 30.

RICE
""",
    ),
    SampleCable(
        id="05ALMATY4010",
        subject="KAZAKHSTAN: CAMPAIGN ENVIRONMENT THREE WEEKS OUT",
        origin="US Office Almaty",
        created="2005-11-15 11:30:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ALMATY 004010

SIPDIS

E.O. 12958: DECL: 11/15/2015
TAGS: PGOV, KDEM, KZ
SUBJECT: KAZAKHSTAN: CAMPAIGN ENVIRONMENT THREE WEEKS OUT

REF: A. ALMATY 3560 B. STATE 205311

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Three weeks before the December 4 election, the
campaign is uneven. President Nazarbayev dominates the media, and
opposition candidates report trouble renting halls. END SUMMARY.

2. (C) Since registration (ref A), Tuyakbay's campaign reports that
local officials have cancelled at least eleven of his meetings with
voters. Several of his campaign workers were briefly detained for
handing out leaflets.

3. (C) ODIHR's long-term observers share these concerns. Short-term
observers, including the U.S. contingent (ref B), will arrive at the
end of the month.

ORDWAY
""",
    ),
    SampleCable(
        id="05ALMATY4460",
        subject="KAZAKHSTAN: ODIHR FINDS ELECTION FELL SHORT OF OSCE COMMITMENTS",
        origin="US Office Almaty",
        created="2005-12-12 13:15:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "OSCE", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        sources=(
            (
                "/doc/odihr-kz-2005-12-05.html",
                "OSCE/ODIHR statement of preliminary findings and conclusions, 5 December 2005",
            ),
        ),
        text="""\
UNCLAS ALMATY 004460

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, OSCE, KZ
SUBJECT: KAZAKHSTAN: ODIHR FINDS ELECTION FELL SHORT OF OSCE
COMMITMENTS

Ref: A) 05 Almaty 4353 B) Almaty 1437

1. (U) SUMMARY: The OSCE/ODIHR final assessment of the December 4
presidential election, released on December 11, finds that despite
some improvements the election did not meet a number of OSCE
commitments. Nazarbayev won with 91 percent. END SUMMARY.

2. (U) ODIHR cited restrictions on campaigning, pressure on voters
and ballot stuffing in a number of precincts. It found the
pre-election period calmer than expected (ref A), and noted that
migration checks on foreigners (ref B) did not extend to observers.

3. (U) The GOK has rejected the findings as biased and points to the
positive statements of CIS observers.

ORDWAY
""",
    ),
    SampleCable(
        id="06ASTANA41",
        subject="KAZAKHSTAN: NAZARBAYEV INAUGURATED, PROMISES POLITICAL REFORM",
        origin="Embassy Astana",
        created="2006-01-11 12:00:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ASTANA 000041

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, KZ
SUBJECT: KAZAKHSTAN: NAZARBAYEV INAUGURATED, PROMISES POLITICAL
REFORM

REF: 05 ALMATY 4460

1. (U) President Nazarbayev was inaugurated for a new seven-year
term on January 11. In his speech he promised a commission on
democratic reform and more powers for the parliament.

2. (U) Opposition leaders, still disputing the December result
(reftel), boycotted the ceremony.

3. (U) Embassy will report on the reform commission once its
membership is announced.

ORDWAY
""",
    ),
    SampleCable(
        id="06STATE8811",
        subject="2005 COUNTRY REPORTS ON HUMAN RIGHTS PRACTICES: CLEARANCE SCHEDULE FOR CENTRAL ASIA",
        origin="Secretary of State",
        created="2006-01-19 16:45:00",
        classification="UNCLASSIFIED",
        tags=("PHUM", "KZ", "KG", "TI", "UZ", "TX"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 008811

SIPDIS

E.O. 12958: N/A
TAGS: PHUM, KZ, KG, TI, UZ, TX
SUBJECT: 2005 COUNTRY REPORTS ON HUMAN RIGHTS PRACTICES: CLEARANCE
SCHEDULE FOR CENTRAL ASIA

1. (U) This cable sets out the clearance schedule for the 2005
Country Reports on Human Rights Practices for Kazakhstan,
Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan.

2. (U) Posts will receive edited drafts by January 27 and should
return comments within five working days. Please flag any facts that
have changed since submission, in particular refugee cases and the
Andijon trials.

3. (U) The reports will be released in early March.

RICE
""",
    ),
    SampleCable(
        id="06ALMATY311",
        subject="KAZAKHSTAN: OPPOSITION LEADER SARSENBAYEV FOUND DEAD",
        origin="US Office Almaty",
        created="2006-02-14 07:20:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PHUM", "KZ"),
        redacted="This cable was redacted by Wikileaks.",
        malformed=True,
        original="missing",
        text="""\
C O N F I D E N T I A L ALMATY 000311

SIPDIS

E.O. 12958: DECL: 02/14/2016
TAGS: PGOV, PHUM, KZ
SUBJECT: KAZAKHSTAN: OPPOSITION LEADER SARSENBAYEV FOUND DEAD

Classified By: Consul General, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Altynbek Sarsenbayev, a leader of the opposition
movement For a Just Kazakhstan, was found shot dead with his driver
and bodyguard near the city on February 13. Opposition leaders call
it a political murder. END SUMMARY.

2. (C) Sarsenbayev had been missing since February 11. The Interior
Ministry has opened a murder investigation, and President Nazarbayev
has promised to find those responsible.

3. (C) Opposition leaders plan a memorial gathering on February 18
and have asked the akimat for permission.

ORDWAY
""",
    ),
    SampleCable(
        id="06ASTANA412",
        subject="KAZAKHSTAN: SARSENBAYEV MURDER - SECURITY OFFICERS ARRESTED",
        origin="Embassy Astana",
        created="2006-02-27 10:10:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PHUM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ASTANA 000412

SIPDIS

E.O. 12958: DECL: 02/27/2016
TAGS: PGOV, PHUM, KZ
SUBJECT: KAZAKHSTAN: SARSENBAYEV MURDER - SECURITY OFFICERS ARRESTED

REF: 06 ALMATY 311

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Five officers of the KNB's Arystan special unit have
been arrested in connection with the murder of Altynbek Sarsenbayev
(reftel). The KNB chairman has resigned. END SUMMARY.

2. (C) The Prosecutor General said the killing was ordered by a
senior official of the Senate staff. Opposition leaders say the
investigation is stopping short of those who gave the orders.

3. (C) The Ambassador urged the Foreign Minister on February 24 to
ensure a transparent investigation and an open trial.

ORDWAY
""",
    ),
    SampleCable(
        id="06ASTANA604",
        subject="KAZAKHSTAN: UZBEK ASYLUM SEEKERS DETAINED IN SHYMKENT",
        origin="Embassy Astana",
        created="2006-03-10 09:00:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ASTANA 000604

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, KZ, UZ
SUBJECT: KAZAKHSTAN: UZBEK ASYLUM SEEKERS DETAINED IN SHYMKENT

REF: 05 ALMATY 2610

1. (SBU) SUMMARY: Police in Shymkent detained nine Uzbek asylum
seekers on March 7, among them two registered with UNHCR. UNHCR
fears they will be handed over to Uzbek officials. END SUMMARY.

2. (SBU) UNHCR told EmbOff that the detainees are wanted in
Uzbekistan for membership in banned religious groups. As in the
Shamsudinov case (05ALMATY2503), the Uzbek requests arrived within
days of the arrests.

3. (SBU) UNHCR's request for a written instruction to the police
(reftel) is still unanswered.

4. (SBU) The Ambassador will raise the case with the MFA on March
13.

ORDWAY
""",
    ),
    SampleCable(
        id="06BISHKEK520",
        subject="KYRGYZSTAN: UZBEK REFUGEES DETAINED IN OSH",
        origin="Embassy Bishkek",
        created="2006-04-10 10:35:00",
        classification="CONFIDENTIAL",
        tags=("PREF", "PHUM", "KG", "UZ"),
        redacted="This cable was redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L BISHKEK 000520

SIPDIS

E.O. 12958: DECL: 04/10/2016
TAGS: PREF, PHUM, KG, UZ
SUBJECT: KYRGYZSTAN: UZBEK REFUGEES DETAINED IN OSH

REF: A. 06 BISHKEK 88 B. 05 BISHKEK 1299

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: Police in Osh detained four Uzbek refugees
recognized under the UNHCR mandate on April 7. UNHCR is seeking
access. END SUMMARY.

2. (C) The four are among the men who stayed behind when UNHCR
evacuated the Jalalabad camp (ref B). Ref A reported the Uzbek
government's renewed extradition requests.

3. (C) The Ambassador called the Foreign Minister on April 8 to
remind him of Kyrgyzstan's obligations under the Refugee Convention.

YOVANOVITCH
""",
    ),
    SampleCable(
        id="06DUSHANBE640",
        subject="TAJIKISTAN: PARTIES GEAR UP FOR NOVEMBER PRESIDENTIAL ELECTION",
        origin="Embassy Dushanbe",
        created="2006-04-12 08:25:00",
        classification="UNCLASSIFIED",
        tags=("PGOV", "KDEM", "TI"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS DUSHANBE 000640

SIPDIS

E.O. 12958: N/A
TAGS: PGOV, KDEM, TI
SUBJECT: TAJIKISTAN: PARTIES GEAR UP FOR NOVEMBER PRESIDENTIAL
ELECTION

1. (U) Tajikistan's registered parties have begun to prepare for the
presidential election expected in November. President Rahmonov is
widely expected to run again.

2. (U) The Islamic Renaissance Party and the Social Democrats have
not decided whether to field candidates. Both complain about access
to state media.

3. (U) Embassy is planning a small observation effort with OSCE
partners.

HOAGLAND
""",
    ),
    SampleCable(
        id="06STATE61220",
        subject="DEMARCHE: KAZAKHSTAN'S DRAFT REFUGEE LAW",
        origin="Secretary of State",
        created="2006-04-14 21:30:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "PHUM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS STATE 061220

SIPDIS

E.O. 12958: N/A
TAGS: PREF, PHUM, KZ
SUBJECT: DEMARCHE: KAZAKHSTAN'S DRAFT REFUGEE LAW

REF: A. ASTANA 604 B. STATE 30411

1. (U) This is an action request. See paragraph 3.

2. (U) The GOK is drafting its first national refugee law. The
detention of asylum seekers in Shymkent (ref A) shows why a law
consistent with the 1951 Convention is needed.

3. (U) ACTION REQUEST: Embassy Astana is requested to urge the GOK
to consult UNHCR on the draft and to include protection against
return for those awaiting a decision, drawing on ref B.

RICE
""",
    ),
    SampleCable(
        id="06ASTANA919",
        subject="KAZAKHSTAN: UNHCR AND GOK DISCUSS DRAFT REFUGEE LAW",
        origin="Embassy Astana",
        created="2006-04-18 11:45:00",
        classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        tags=("PREF", "PHUM", "PREL", "KZ", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        sources=(
            (
                "/doc/kz-draft-refugee-law-2006.html",
                "Draft Law on Refugees, unofficial translation, April 2006",
            ),
        ),
        text="""\
UNCLAS ASTANA 000919

SIPDIS

SENSITIVE

E.O. 12958: N/A
TAGS: PREF, PHUM, PREL, KZ, UZ
SUBJECT: KAZAKHSTAN: UNHCR AND GOK DISCUSS DRAFT REFUGEE LAW

REF: A. 05 ALMATY 2503 B. 05 ALMATY 4353
     C. 06 STATE 61220

1. (SBU) SUMMARY: UNHCR and the MFA met on April 17 to discuss the
draft refugee law. UNHCR called the draft a step forward but warned
that its exclusion clauses could be used against people like
Lutfullo Shamsudinov (ref A). END SUMMARY.

2. (SBU) The draft provides for a government refugee status
procedure for the first time. It excludes anyone charged with a
crime in another state, without regard to the nature of the charge.

3. (SBU) The MFA told UNHCR that the GOK would take its comments
into account and that the draft would reach parliament in May. Post
delivered ref C points on April 17, following up on the GOK
commitment reported in ref B.

ORDWAY
""",
    ),
    SampleCable(
        id="06USUNNEWYORK702",
        subject="HUMAN RIGHTS COUNCIL ELECTIONS: CENTRAL ASIAN CANDIDACIES",
        origin="USUN New York",
        created="2006-04-20 19:50:00",
        classification="UNCLASSIFIED",
        tags=("PHUM", "UNGA", "KZ", "KG"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS USUN NEW YORK 000702

SIPDIS

E.O. 12958: N/A
TAGS: PHUM, UNGA, KZ, KG
SUBJECT: HUMAN RIGHTS COUNCIL ELECTIONS: CENTRAL ASIAN CANDIDACIES

1. (U) The General Assembly will elect the first 47 members of the
new Human Rights Council on May 9. No Central Asian state is a
candidate.

2. (U) Kazakhstan's PermRep told USUN that his government had
considered running but decided to wait for a later election.

3. (U) USUN will report the results.

BOLTON
""",
    ),
    SampleCable(
        id="06TASHKENT812",
        subject="UZBEKISTAN: LAST ANDIJON TRIALS END BEHIND CLOSED DOORS",
        origin="Embassy Tashkent",
        created="2006-04-26 12:30:00",
        classification="CONFIDENTIAL",
        tags=("PGOV", "PHUM", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L TASHKENT 000812

SIPDIS

E.O. 12958: DECL: 04/26/2016
TAGS: PGOV, PHUM, UZ
SUBJECT: UZBEKISTAN: LAST ANDIJON TRIALS END BEHIND CLOSED DOORS

REF: 05 TASHKENT 1190

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: The last of the trials arising from the Andijon
events (reftel) ended on April 24 with long prison sentences for all
defendants. The trials were closed to observers. END SUMMARY.

2. (C) Unlike the first trial last autumn, which was held in public
at the Supreme Court, these trials were held in provincial courts
without notice. Relatives learned of the verdicts from defense
lawyers.

3. (C) Human rights defenders who tried to follow the trials were
detained or warned off.

PURNELL
""",
    ),
    SampleCable(
        id="06ASTANA1102",
        subject="KAZAKHSTAN: DRAFT REFUGEE LAW GOES TO THE MAZHILIS",
        origin="Embassy Astana",
        created="2006-05-05 10:00:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "PGOV", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS ASTANA 001102

SIPDIS

E.O. 12958: N/A
TAGS: PREF, PGOV, KZ
SUBJECT: KAZAKHSTAN: DRAFT REFUGEE LAW GOES TO THE MAZHILIS

REF: 06 ASTANA 919

1. (U) The government sent the draft refugee law to the Mazhilis on
May 4. The text incorporates some, but not all, of UNHCR's comments
(reftel).

2. (U) The exclusion clause now applies only to serious
non-political crimes, as UNHCR requested. The draft still lacks
protection against return while an appeal is pending.

3. (U) Post will follow the first reading, expected in June.

ORDWAY
""",
    ),
    SampleCable(
        id="06KUALALUMPUR905",
        subject="MALAYSIA: UZBEK STUDENTS APPROACH UNHCR",
        origin="Embassy Kuala Lumpur",
        created="2006-05-09 09:15:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "PHUM", "MY", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS KUALA LUMPUR 000905

SIPDIS

E.O. 12958: N/A
TAGS: PREF, PHUM, MY, UZ
SUBJECT: MALAYSIA: UZBEK STUDENTS APPROACH UNHCR

REF: 05 KUALA LUMPUR 2301

1. (U) UNHCR's office in Kuala Lumpur told PolOff on May 8 that some
20 Uzbek students have asked for asylum since January, saying they
fear arrest if they return home.

2. (U) Malaysia is not a party to the Refugee Convention, and asylum
seekers without valid visas risk detention. UNHCR is registering the
students and has asked the government not to deport them.

3. (U) The Foreign Ministry's position on Andijon (reftel) has not
changed.

LAFLEUR
""",
    ),
    SampleCable(
        id="06BUENOSAIRES1130",
        subject="ARGENTINA: FIRST UZBEK REFUGEE FAMILY RESETTLED",
        origin="Embassy Buenos Aires",
        created="2006-05-18 17:05:00",
        classification="UNCLASSIFIED",
        tags=("PREF", "AR", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
UNCLAS BUENOS AIRES 001130

SIPDIS

E.O. 12958: N/A
TAGS: PREF, AR, UZ
SUBJECT: ARGENTINA: FIRST UZBEK REFUGEE FAMILY RESETTLED

REF: 05 BUENOS AIRES 1702

1. (U) The first Uzbek refugee family to be resettled in Argentina
arrived on May 16, nine months after the GOA agreed in principle
(reftel).

2. (U) The family of five will live in Rosario, where a church group
is sponsoring them. The Foreign Ministry expects to accept two more
families this year.

GUTIERREZ
""",
    ),
    SampleCable(
        id="06ASTANA1290",
        subject="KAZAKHSTAN: GOK SEEKS U.S. SUPPORT FOR OSCE BID",
        origin="Embassy Astana",
        created="2006-05-25 14:20:00",
        classification="CONFIDENTIAL",
        tags=("PREL", "OSCE", "KDEM", "KZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L ASTANA 001290

SIPDIS

E.O. 12958: DECL: 05/25/2016
TAGS: PREL, OSCE, KDEM, KZ
SUBJECT: KAZAKHSTAN: GOK SEEKS U.S. SUPPORT FOR OSCE BID

REF: A. 05 ALMATY 3120 B. 05 STATE 4455

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: The Foreign Minister asked the Ambassador on May 24
for an early U.S. decision on Kazakhstan's bid for the 2009 OSCE
chairmanship. The Ambassador repeated that reform must come first.
END SUMMARY.

2. (C) Tokayev said that the decision, postponed at Ljubljana,
should be taken at the Brussels Ministerial in December. The
Ambassador referred to our earlier exchanges (refs) and said that
the election law amendments promised in January have yet to appear.

3. (C) Tokayev said that the reform commission would report in the
autumn.

ORDWAY
""",
    ),
    SampleCable(
        id="06DUSHANBE1010",
        subject="TAJIKISTAN: UZBEK ASYLUM SEEKER HANDED OVER AT BORDER",
        origin="Embassy Dushanbe",
        created="2006-05-30 07:40:00",
        classification="CONFIDENTIAL",
        tags=("PREF", "PHUM", "TI", "UZ"),
        redacted="This cable was not redacted by Wikileaks.",
        text="""\
C O N F I D E N T I A L DUSHANBE 001010

SIPDIS

E.O. 12958: DECL: 05/30/2016
TAGS: PREF, PHUM, TI, UZ
SUBJECT: TAJIKISTAN: UZBEK ASYLUM SEEKER HANDED OVER AT BORDER

REF: 05 DUSHANBE 1120

Classified By: Ambassador, for reasons 1.4 (b) and (d).

1. (C) SUMMARY: UNHCR reports that Tajik authorities handed an Uzbek
asylum seeker to Uzbek border guards on May 26, before UNHCR could
interview him. END SUMMARY.

2. (C) The man, from Andijon province, had been in Sughd province
since February. UNHCR had registered his claim and asked the MFA for
access on May 24.

3. (C) This is the quiet return we feared last year (reftel). The
Ambassador will raise it with the Foreign Minister.

HOAGLAND
""",
    ),
)


CABLES_BY_ID: Mapping[str, SampleCable] = MappingProxyType({cable.id: cable for cable in SAMPLE_CABLES})
MALFORMED_IDS: tuple[str, ...] = tuple(cable.id for cable in SAMPLE_CABLES if cable.malformed)
MISSING_ORIGINALS: tuple[str, ...] = tuple(cable.id for cable in SAMPLE_CABLES if cable.original == "missing")

CABLE_ROBOTS_TXT = (
    "User-agent: *\n" + "".join(f"Disallow: {prefix}\n" for prefix in ROBOTS_DISALLOW_PREFIXES)
).encode("ascii")
ORIGINAL_ROBOTS_TXT = b"User-agent: *\nDisallow:\n"

_DOCTYPE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">'
_HEAD = (
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    "<title>{title}</title>\n"
    '<link rel="stylesheet" type="text/css" href="/static/cablebrowser.css">\n'
    '<script type="text/javascript" src="/static/cablebrowser.js"></script>\n'
)
_HEADER = (
    '<div id="header"><a href="/"><img src="/static/logo.png" alt="cablebrowser" width="120" '
    'height="40"></a></div>\n'
)
_FOOTER = f'<p class="footer">Latest source of this page is {SITE_RELEASE}</p>\n'


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def original_path(cable: SampleCable) -> str:
    """Path of a cable's original on the originals host: ``/cable/<YYYY>/<MM>/<ID>.html``."""
    return f"/cable/{cable.created[:4]}/{cable.created[5:7]}/{cable.id}.html"


def source_href(path: str, original_base: str) -> str:
    """The link a page writes for a source: ``/doc/...`` on the originals host, else site-relative."""
    return original_base + path if path.startswith("/doc/") else path


def iter_documents() -> Iterable[tuple[str, str]]:
    """(path, title) of each document the originals host serves: sources not gone, moved ones at
    their new path."""
    seen: set[str] = set()
    for cable in SAMPLE_CABLES:
        for path, title in cable.sources:
            if not path.startswith("/doc/") or path in GONE_DOCUMENTS:
                continue
            served = REDIRECTED_DOCUMENTS.get(path, path)
            if served not in seen:
                seen.add(served)
                yield served, title


def iter_private_pages() -> Iterable[tuple[str, str]]:
    """(path, title) of each page on the cable site that robots.txt disallows."""
    for cable in SAMPLE_CABLES:
        for path, title in cable.sources:
            if path in ROBOTS_DISALLOWED_PATHS:
                yield path, title


def cable_page(cable: SampleCable, original_base: str) -> bytes:
    """The cable site's page for ``cable`` (``/cable/<ID>``), linking its original on ``original_base``."""
    original_url = original_base + original_path(cable)
    rows = (
        ("Identifier", _text(cable.id)),
        ("Wikileaks", None),
        ("Origin", _text(cable.origin)),
        ("Created", _text(cable.created)),
        ("Classification", _text(cable.classification)),
        ("Tags", _text(" ".join(cable.tags))),
        ("Redacted", _text(cable.redacted)),
    )
    view = f"View {_text(cable.id)} at Wikileaks.org"
    title = f"Cable {cable.id}: {cable.subject}"
    if cable.malformed:
        return _malformed_cable_page(cable, title, rows, original_base, view)
    parts = [
        _DOCTYPE,
        "\n<html><head>\n",
        _HEAD.format(title=_text(title)),
        "</head><body>\n",
        _HEADER,
        f'<p class="disclaimer">{_text(DISCLAIMER)}</p>\n',
        '<table class="cable">\n',
    ]
    for label, value in rows:
        if value is None:
            value = f'<a href="{_attr(original_url)}">{view}</a>'
        parts.append(f'<tr><td class="label">{label}:</td><td>{value}</td></tr>\n')
    parts += [
        "</table>\n",
        f'<p class="partial">{PARTIAL_NOTE}</p>\n',
        f'<div class="text"><pre>{_text(cable.text)}</pre></div>\n',
    ]
    if cable.sources:
        parts.append('<div class="sources"><h3>Sources</h3><ul>\n')
        for path, source_title in cable.sources:
            href = source_href(path, original_base)
            parts.append(f'<li><a href="{_attr(href)}">{_text(source_title)}</a></li>\n')
        parts.append("</ul></div>\n")
    parts += [_FOOTER, "</body></html>\n"]
    return "".join(parts).encode("utf-8")


def _malformed_cable_page(
    cable: SampleCable,
    title: str,
    rows: tuple[tuple[str, str | None], ...],
    original_base: str,
    view: str,
) -> bytes:
    """The same page in 2011-era markup: upper-case tags, unclosed tr/td/p/li, unquoted attributes.

    Unquoted values never hold spaces, quotes, ``=``, ``<``, ``>`` or a backtick, so an HTML parser
    reads them whole; ``href="/"`` keeps its quotes because ``HREF=/>`` is read differently by some
    parsers."""
    parts = [
        _DOCTYPE,
        "\n<HTML><HEAD>\n",
        '<META HTTP-EQUIV=Content-Type CONTENT="text/html; charset=utf-8">\n',
        f"<TITLE>{_text(title)}</TITLE>\n",
        "<LINK REL=stylesheet TYPE=text/css HREF=/static/cablebrowser.css>\n",
        "<SCRIPT TYPE=text/javascript SRC=/static/cablebrowser.js></SCRIPT>\n",
        "</HEAD><BODY>\n",
        '<DIV ID=header><A HREF="/"><IMG SRC=/static/logo.png ALT=cablebrowser WIDTH=120 HEIGHT=40></A></DIV>\n',
        f"<P CLASS=disclaimer>{_text(DISCLAIMER)}\n",
        "<TABLE CLASS=cable>\n",
    ]
    for label, value in rows:
        if value is None:
            value = f"<A HREF={_unquoted(original_base + original_path(cable))}>{view}</A>"
        parts.append(f"<TR><TD CLASS=label>{label}:<TD>{value}\n")
    parts += [
        "</TABLE>\n",
        f"<P CLASS=partial>{PARTIAL_NOTE}\n",
        f"<DIV CLASS=text><PRE>{_text(cable.text)}</PRE></DIV>\n",
    ]
    if cable.sources:
        parts.append("<DIV CLASS=sources><H3>Sources</H3><UL>\n")
        for path, source_title in cable.sources:
            href = _unquoted(source_href(path, original_base))
            parts.append(f"<LI><A HREF={href}>{_text(source_title)}</A>\n")
        parts.append("</UL></DIV>\n")
    parts += [f"<P CLASS=footer>Latest source of this page is {SITE_RELEASE}\n", "</BODY></HTML>\n"]
    return "".join(parts).encode("utf-8")


def _unquoted(value: str) -> str:
    """``value`` as an unquoted attribute value; refuses what would need quotes."""
    if not value or any(char in value for char in " \t\n\"'=<>`&"):
        raise ValueError(f"{value!r} cannot be written as an unquoted attribute value")
    return value


def original_page(cable: SampleCable) -> bytes:
    """The originals host's page for ``cable`` (``/cable/<YYYY>/<MM>/<ID>.html``), with the full text."""
    origin = _ORIGINAL_ORIGINS.get(cable.origin, cable.origin)
    cells = (cable.id, cable.created[:16], ORIGINAL_RELEASED, cable.classification, origin)
    return (
        f"<html><head><title>Cable reference id: #{_text(cable.id)}</title></head><body>\n"
        f"<h2>Viewing cable {_text(cable.id)}, {_text(cable.subject)}</h2>\n"
        '<table class="cable">\n'
        "<tr><th>Reference ID</th><th>Created</th><th>Released</th><th>Classification</th><th>Origin</th></tr>\n"
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in cells) + "</tr>\n"
        "</table>\n"
        f"<pre>{_text(cable.text)}</pre>\n"
        "</body></html>\n"
    ).encode("utf-8")


def index_page(cables: Iterable[SampleCable] = SAMPLE_CABLES) -> bytes:
    """The cable site's ``/``: every cable, oldest first, each linking ``/cable/<ID>``."""
    items = "".join(
        f'<li><a href="/cable/{_attr(cable.id)}">{_text(cable.id)}</a> {_text(cable.created[:10])} '
        f"{_text(cable.subject)}</li>\n"
        for cable in sorted(cables, key=lambda cable: (cable.created, cable.id))
    )
    return _site_page("cablebrowser: all cables", f'<ul class="cables">\n{items}</ul>\n')


def soft_404_page(cable_id: str) -> bytes:
    """What the cable site answers, with status 200, for a cited cable it does not have."""
    body = (
        f'<p class="notfound">{NOT_FOUND_TEXT}</p>\n'
        f"<p>There is no cable {_text(cable_id)} in this release. <a href=\"/\">All cables</a></p>\n"
    )
    return _site_page(f"cablebrowser: {NOT_FOUND_TEXT}", body)


def _site_page(title: str, content: str) -> bytes:
    return (
        f"{_DOCTYPE}\n<html><head>\n{_HEAD.format(title=_text(title))}</head><body>\n{_HEADER}"
        f"{content}{_FOOTER}</body></html>\n"
    ).encode("utf-8")


def document_page(title: str) -> bytes:
    """A source document on the originals host."""
    return (
        f"<html><head><title>{_text(title)}</title></head><body>\n<h1>{_text(title)}</h1>\n"
        "<p>Archived copy of a document cited by the cable browser.</p>\n</body></html>\n"
    ).encode("utf-8")


def private_page(title: str) -> bytes:
    """A page under a robots.txt-disallowed path on the cable site."""
    return (
        f"<html><head><title>{_text(title)}</title></head><body>\n<h1>{_text(title)}</h1>\n"
        "<p>Private. A crawler that obeys robots.txt does not fetch this page.</p>\n</body></html>\n"
    ).encode("utf-8")
