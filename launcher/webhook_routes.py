"""Webhook delivery status: the outbox, behind the management API key."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from launcher.auth import require_api_key

router = APIRouter(dependencies=[Depends(require_api_key)])


@router.get("/webhooks/events")
async def list_events(
    request: Request,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Outbox events, newest first: type, URL, status, attempts, last error, payload."""
    events = await request.app.state.storage.list_events(status=status, limit=limit)
    return [event.model_dump(mode="json") for event in events]
