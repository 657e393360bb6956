"""camscan: find IP cameras on a network and name their real manufacturer."""

__version__ = "0.1.0"
