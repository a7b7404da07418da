"""Protocol-faithful local doubles of Switchboard's providers (see README.md)."""

from tests.doubles.client import DoublesClient
from tests.doubles.process import DoublesProcess

__all__ = ["DoublesClient", "DoublesProcess"]
