"""The version of peertrain, in a module of its own so that any part of the library can name it
without importing the whole package (``peertrain/__init__.py`` imports every layer)."""

__version__ = "0.1.0"
