"""Stand-ins for what a call talks to: provider doubles and simulated callers.

The tests, the benchmark and users (``make doubles``) all run these.
"""
