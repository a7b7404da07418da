"""One BLAS thread: every entry point imports this first, before anything loads numpy.

OpenBLAS reads ``OPENBLAS_NUM_THREADS`` once, when numpy loads it; one thread halves
smart-turn's CPU on 2 cores (README, Performance). Set here, in ``os.environ``, it also reaches
the call-host processes the launcher starts (they inherit its environment). A value already
set (Makefile, Dockerfile, the caller's shell) wins. Ruff's import sorting keeps this import
first in its own section (``pyproject.toml``, ``[tool.ruff.lint.isort]``).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
