"""The page, the persona list and health."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from bots import PERSONAS

router = APIRouter()
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
async def personas() -> list[dict[str, str]]:
    """The personas this launcher serves."""
    return [{"name": p.name, "description": p.description} for p in PERSONAS.values()]


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
