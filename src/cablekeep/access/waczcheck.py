"""Checking a WACZ file: :func:`verify_wacz`, every resource's hash and size against ``datapackage.json``.

The check lives in the fixity wing (:mod:`cablekeep.fixity.waczcheck`), where a bag's check uses it for
every ``*.wacz`` in its payload; it is named here too, where WACZ packages are written.
"""

from __future__ import annotations

from ..fixity.waczcheck import MAX_JSON, verify_wacz

__all__ = ["MAX_JSON", "verify_wacz"]
