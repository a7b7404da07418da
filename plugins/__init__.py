"""Call plugins: what every call gets without the persona asking (``assembly.call.CallPlugin``).

The call row, transcript, recording, latency breakdown, cost, memory recall, provider-failover
record, turn-taking metrics and the call's limits. ``runner.plugins`` lists them once; persona
files never reference them. Frame processors a plugin adds live with what they serve
(``memory.recall``, ``tools.filler``).
"""
