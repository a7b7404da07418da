"""The fleet: hosts that publish their free call slots to Redis, and admission across them.

Without ``REDIS_URL`` none of this runs: one launcher and its workers are the whole fleet.
"""
