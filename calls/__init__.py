"""What every layer may say about a call, and needs nothing else to say it.

The bottom of the layers (``pyproject.toml``, ``[tool.importlinter]``) with ``config``: why a
call ended (:class:`calls.end_reason.EndReason`) and how its greetings, prompts and emails are
filled in (:func:`calls.templates.render`). The assembly, the tools that end a call and the
post-call jobs all import these from here; nothing here imports another package of ours.
"""
