"""Agents without a deploy: CRUD for tenants' ``agent_configs`` rows, and the page to edit them.

A row overrides a persona file for one tenant's calls (``runner/tenant.py``). Rows are read when
each call starts, in whichever process runs it, so a saved edit applies to the next call with no
restart. Every ``/agent-configs`` route needs the management API key in production; the page at
``/agents`` is static and asks for the key itself (kept in the tab's ``sessionStorage``).
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse

from assembly.persona import TurnSettings
from bots import PERSONAS
from launcher.admission import persona_or_404
from launcher.agent_checks import AgentConfigBody, effective, field_errors, provider_findings
from launcher.auth import require_api_key
from launcher.readiness import problems_of
from providers import STAGES
from storage.base import AgentConfig, Storage

router = APIRouter()
api = APIRouter(prefix="/agent-configs", dependencies=[Depends(require_api_key)])
_PAGE = FilePath(__file__).parent / "static" / "agents.html"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"  # as runner.tenant accepts at call start

Tenant = Annotated[str, Path(pattern=TENANT_PATTERN, description="the tenant's name")]
PersonaName = Annotated[str, Path(max_length=40, description="a persona's name")]


@router.get("/agents", include_in_schema=False)
async def agents_page() -> FileResponse:
    """The agents page: list, edit, save and test-call tenants' configs (no CDN, offline)."""
    return FileResponse(_PAGE, media_type="text/html")


def _storage(request: Request) -> Storage:
    return request.app.state.storage


def _shown(config: AgentConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


@api.get("")
async def list_configs(
    request: Request, tenant: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Every tenant's rows (or one tenant's), disabled ones too, by tenant then persona."""
    return [_shown(c) for c in await _storage(request).list_agent_configs(tenant)]


@api.get("/personas")
async def persona_defaults() -> dict[str, Any]:
    """What each persona file says (a row changes it), the providers offered, turn fields."""
    return {
        "personas": [effective(p) for p in PERSONAS.values()],
        "providers": {stage: sorted(builders) for stage, builders in STAGES.items()},
        "turn_schema": TurnSettings.model_json_schema(),
    }


@api.get("/{tenant}/{persona}")
async def get_config(tenant: Tenant, persona: PersonaName, request: Request) -> dict[str, Any]:
    """One row (404 when the tenant has none for this persona)."""
    persona_or_404(persona)
    config = await _storage(request).get_agent_config(tenant, persona)
    if config is None:
        raise HTTPException(status_code=404, detail=f"no config of {persona!r} for {tenant!r}")
    return _shown(config)


@api.put("/{tenant}/{persona}")
async def put_config(
    tenant: Tenant, persona: PersonaName, body: AgentConfigBody, request: Request
) -> JSONResponse:
    """Create or replace a row, checked against the persona first (422 names each bad field).

    The answer has the stored row and ``problems``: what would stop a call of the overridden
    persona with this launcher's settings (a provider whose key is not set), for information.
    """
    base = persona_or_404(persona)
    errors = field_errors(base, body, tenant)
    if errors:
        raise RequestValidationError(errors)
    settings = request.app.state.settings
    known = problems_of(request.app, persona)
    errors, problems = await provider_findings(base, body, tenant, settings, known)
    if errors:
        raise RequestValidationError(errors)
    storage = _storage(request)
    existed = await storage.get_agent_config(tenant, persona) is not None
    row = body.row(tenant, persona)
    await storage.put_agent_config(row)
    return JSONResponse(
        {"config": _shown(row), "problems": problems}, status_code=200 if existed else 201
    )


@api.delete("/{tenant}/{persona}", status_code=204)
async def delete_config(tenant: Tenant, persona: PersonaName, request: Request) -> Response:
    """Delete a row: the tenant's calls use the persona file again (404 when there was none)."""
    if not await _storage(request).delete_agent_config(tenant, persona):
        raise HTTPException(status_code=404, detail=f"no config of {persona!r} for {tenant!r}")
    return Response(status_code=204)


router.include_router(api)
