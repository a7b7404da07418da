"""Switchboard's own frame processors and observers, one concern per module.

They plug into every call through ``assembly.plugins`` (latency metrics, memory lookup, tool
calls, cost); persona files never reference them directly.
"""
