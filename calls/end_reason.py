"""Why a call ended: one closed set of reasons, shown by the calls API, stored and counted.

A ``StrEnum``: each reason is its own string value, so JSON, the database and Prometheus labels
see plain text (``"caller_hung_up"``), and code can only name a reason that exists.
"""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    """Why a call ended (the first reason set wins)."""

    COMPLETED = "completed"  # the pipeline ran to its end with no other reason recorded
    ENDED = "ended"  # ``Call.end`` without a more precise reason
    CANCELLED = "cancelled"  # ``Call.cancel`` without a more precise reason
    ERROR = "error"  # the call failed (logged with its traceback)
    CALLER_HUNG_UP = "caller_hung_up"  # the caller's side closed the media
    MALFORMED_MEDIA = "malformed_media"  # the media stream broke the protocol
    END_CALL = "end_call"  # the bot ended it (its ``end_call`` tool)
    TRANSFERRED = "transferred"  # handed to a human (``transfer_call`` tool)
    USER_IDLE = "user_idle"  # the caller stayed silent after the persona's prompt
    IDLE = "idle"  # no audio either way for the call's idle limit
    NEVER_CONNECTED = "never_connected"  # the caller never joined
    MAX_DURATION = "max_duration"  # the call's length limit
    ENDED_BY_API = "ended_by_api"  # ``POST /calls/{id}/end``
    DRAINED = "drained"  # the process was shutting down
    ROOM_FINISHED = "room_finished"  # the LiveKit room was closed
    WORKER_LOST = "worker_lost"  # the process running the call died
    TTS_UNAVAILABLE = "tts_unavailable"  # the TTS stopped producing speech (nothing can be said)
    STT_UNAVAILABLE = "stt_unavailable"  # the STT could not be reached any more
    LLM_UNAVAILABLE = "llm_unavailable"  # the LLM rejected the call's requests for good
