"""Where calls run: the seam between launcher routes and call execution.

Routes hand a persona and Pipecat runner arguments to a :class:`CallRunner`; how and where the
call then runs (in this process, a worker process, another machine) is the runner's business.
"""

from runner.base import ActiveCall, CallRefused, CallRunner
from runner.inprocess import InProcessRunner

__all__ = ["ActiveCall", "CallRefused", "CallRunner", "InProcessRunner"]
