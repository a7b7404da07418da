"""After the call: analysis, memory extraction, webhooks; in the background, never in the way."""
