"""Switchboard's benchmark: simulated phone calls against the real launcher and the doubles.

Run ``python -m bench --help``. See ``bench/README.md`` for what each figure means.
"""
