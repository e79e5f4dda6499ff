"""The package's version: the same as the Rust workspace's (a test checks it)."""

__version__ = "0.1.0"
