"""Webhooks to the business: signed events through a durable outbox, delivered at least once."""
