"""The command line (click and rich): parse, build the objects, call the core, render, choose the exit code.

The only package that imports click, prints or exits. ``main`` is the command group
(:mod:`cablekeep.cli.main`: expected errors caught in one place, the options and renderings the
commands share); each family of commands has a module of its own, imported here so that each
registers its commands on the group:

- ``crawl_commands``: ``run``, ``demo``, ``extract``;
- ``fixity_commands``: ``verify``, ``history``, ``audit``, ``repair``;
- ``bag_commands``: ``bag``;
- ``handoff_commands``: ``validate-profile``, ``serialize``, ``deliver``;
- ``access_commands``: ``wacz``, ``replay``;
- ``watch_commands``: ``check``, ``report``;
- ``schedule_commands``: ``due``, ``run-due``, ``schedule install``.
"""

from __future__ import annotations

from . import (  # noqa: F401 - imported for their commands, which register on the group
    access_commands,
    bag_commands,
    crawl_commands,
    fixity_commands,
    handoff_commands,
    schedule_commands,
    watch_commands,
)
from .main import CablekeepGroup, _default_db, main

__all__ = ["CablekeepGroup", "main", "_default_db"]
