"""Protocol-faithful local doubles of Switchboard's providers (see README.md)."""

from simulators.doubles.client import DoublesClient
from simulators.doubles.process import DoublesProcess

__all__ = ["DoublesClient", "DoublesProcess"]
