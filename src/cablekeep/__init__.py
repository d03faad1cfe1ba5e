"""cablekeep: archive cable sites and their sources as WARCs in verified BagIt bags."""

__version__ = "0.1.0"
