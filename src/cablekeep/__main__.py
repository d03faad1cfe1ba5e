"""``python -m cablekeep``: the same as the ``cablekeep`` command."""

from .cli import main

main()
