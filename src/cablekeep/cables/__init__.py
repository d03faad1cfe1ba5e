"""Cable understanding: pure functions from a page's bytes to what it says.

Takes HTML (and a site profile); gives the cable's fields (Identifier, Origin, Created, Classification,
Tags, Redacted, the original's URL), its text, the cables it cites and the page's links, marked as
requisites (needed to render) or sources (linked). No I/O, no network: used by capture, the manifest
(profiles written in YAML) and ``cablekeep extract``.

- ``extract``: parsing a page (lxml) into a :class:`~cablekeep.cables.extract.PageRecord`.
- ``profiles``: site profiles (built in, and those a manifest describes): rules by label, XPath or CSS.
- ``urls``: making a page's references absolute (``urljoin``, with a fast path for the common forms).
- ``citations``: reading "REF: A. ASTANA 1628" and its many real spellings from a cable's text.
- ``cableid``: cable identifiers: normalising "05 Almaty 2503" to 05ALMATY2503, years, origins.
"""
