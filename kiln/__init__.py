"""Kiln: an open industrial-internet platform for a manufacturing city."""

__version__ = "0.1.0"
