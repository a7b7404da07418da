"""A call-host process: runs the calls its launcher hands over (``python -m callhost``)."""
