"""The page, the persona list and health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from bots import PERSONAS
from launcher import livekit_page
from launcher.readiness import problems_of

router = APIRouter()
router.include_router(livekit_page.router)  # the page's LiveKit mode and its scripts
_PAGE = Path(__file__).parent / "static" / "index.html"


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The browser page: pick a persona and talk (no CDN, works offline)."""
    return FileResponse(_PAGE, media_type="text/html")


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """No icon (keeps browsers from logging a 404)."""
    return Response(status_code=204)


@router.get("/personas")
async def personas(request: Request) -> list[dict[str, Any]]:
    """The personas this launcher serves, and whether each can take a call now.

    ``missing`` names what to set for one that cannot (``DEEPGRAM_API_KEY is not set: ...``);
    ``metadata_fields`` the call metadata it reads, with meaning (the page's LiveKit mode asks
    for them).
    """
    out = []
    for p in PERSONAS.values():
        missing = problems_of(request.app, p.name)
        out.append(
            {
                "name": p.name,
                "description": p.description,
                "ready": not missing,
                "missing": missing,
                "metadata_fields": dict(p.metadata_schema),
            }
        )
    return out


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Accepting calls: 503 while draining, recycling or full."""
    refused = request.app.state.runner.admission()
    if refused is not None:
        return JSONResponse(
            {"ready": False, "reason": refused.reason},
            status_code=503,
            headers={"Retry-After": str(refused.retry_after)},
        )
    return JSONResponse({"ready": True})
