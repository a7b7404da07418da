"""The FastAPI launcher's parts; ``server.py`` assembles them into the app."""
