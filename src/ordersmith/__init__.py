"""Ordersmith: order management for retailers who sell through many channels at once."""

__version__ = "0.1.0"
