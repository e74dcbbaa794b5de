"""Polku: a shared system for the Finnish multi-sector joint service (TYP)."""

__version__ = "0.1.0"
