"""A stage's processor: its service alone, or a Pipecat switcher over service and backup."""

from __future__ import annotations

from pipecat.pipeline.service_switcher import ServiceSwitcher
from pipecat.processors.frame_processor import FrameProcessor

from providers.failover import FailoverLLM
from providers.stt_takeover import STTSwitcher
from providers.tts_failover import TTSSwitcher


def members(stage: FrameProcessor | None) -> list[FrameProcessor]:
    """The services a stage holds: a switcher's members (primary first), else the stage."""
    if isinstance(stage, ServiceSwitcher):
        return list(stage.services)
    return [] if stage is None else [stage]


def with_backup(
    stage: str,
    primary: FrameProcessor,
    backup: FrameProcessor | None,
    *,
    probe_secs: float,
    probe_timeout_secs: float,
) -> FrameProcessor:
    """The stage's processor: the primary alone, or a switcher over primary and backup.

    Args:
        stage: ``stt``, ``llm`` or ``tts``.
        primary: The persona's service.
        backup: The backup service, or None.
        probe_secs: How often to probe a primary the call switched away from.
        probe_timeout_secs: How long a probe may take.

    Returns:
        What goes in the pipeline for that stage.
    """
    if backup is None:
        return primary
    if stage == "llm":
        return FailoverLLM(
            [primary, backup], probe_secs=probe_secs, probe_timeout_secs=probe_timeout_secs
        )
    probe = {"probe_secs": probe_secs, "probe_timeout_secs": probe_timeout_secs}
    if stage == "stt":
        return STTSwitcher([primary, backup], **probe)
    return TTSSwitcher([primary, backup], **probe)
