"""Simulated callers for Switchboard: Twilio phone calls, a browser, a local mic (see README)."""
