"""Tests of the benchmark's own building blocks (caller voices, turn corpus)."""
