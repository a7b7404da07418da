"""The Supabase Storage API subset storage3 uses for recordings: upload, download, remove.

Objects are files under ``<storage dir>/<bucket>/<path>``; only the buckets named at start
exist. Errors use Storage's JSON ``{statusCode, error, message}`` that storage3 parses.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from aiohttp import web


def storage_error(status: int, error: str, message: str) -> web.Response:
    """An error as Supabase Storage sends it."""
    return web.json_response(
        {"statusCode": str(status), "error": error, "message": message}, status=status
    )


def object_path(request: web.Request) -> tuple[str, Path] | web.Response:
    """The bucket and the file of ``/storage/v1/object/<bucket>/<path>``, or an error reply."""
    bucket = request.match_info["bucket"]
    if bucket not in request.app["buckets"]:
        return storage_error(404, "Bucket not found", "Bucket not found")
    name = PurePosixPath(request.match_info.get("path", ""))
    if not name.parts or name.is_absolute() or ".." in name.parts:
        return storage_error(400, "InvalidKey", f"Invalid key: {name}")
    return bucket, request.app["storage_dir"] / bucket / Path(*name.parts)


async def upload(request: web.Request) -> web.Response:
    """``POST /storage/v1/object/<bucket>/<path>`` (multipart ``file``; ``x-upsert``)."""
    found = object_path(request)
    if isinstance(found, web.Response):
        return found
    bucket, file = found
    if file.exists() and request.headers.get("x-upsert", "false") != "true":
        return storage_error(409, "Duplicate", "The resource already exists")
    reader = await request.multipart()
    data = None
    async for part in reader:
        if part.name == "file":
            data = await part.read()
    if data is None:
        return storage_error(400, "InvalidRequest", "No file in the request")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)
    key = f"{bucket}/{request.match_info['path']}"
    return web.json_response({"Key": key, "Id": key})


async def download(request: web.Request) -> web.StreamResponse:
    """``GET /storage/v1/object/<bucket>/<path>`` (authenticated download)."""
    found = object_path(request)
    if isinstance(found, web.Response):
        return found
    _, file = found
    if not file.is_file():
        return storage_error(404, "not_found", "Object not found")
    return web.Response(body=file.read_bytes(), content_type="application/octet-stream")


async def remove(request: web.Request) -> web.Response:
    """``DELETE /storage/v1/object/<bucket>`` with ``{"prefixes": [...]}``."""
    bucket = request.match_info["bucket"]
    if bucket not in request.app["buckets"]:
        return storage_error(404, "Bucket not found", "Bucket not found")
    body = json.loads(await request.text() or "{}")
    removed = []
    for prefix in body.get("prefixes", []):
        name = PurePosixPath(prefix)
        if ".." in name.parts or name.is_absolute():
            continue
        file = request.app["storage_dir"] / bucket / Path(*name.parts)
        if file.is_file():
            file.unlink()
            removed.append({"name": prefix, "bucket_id": bucket})
    return web.json_response(removed)


def add_routes(app: web.Application, storage_dir: str, buckets: list[str]) -> None:
    """Mount the Storage routes; create the buckets' directories."""
    app["storage_dir"] = Path(storage_dir)
    app["buckets"] = set(buckets)
    for bucket in buckets:
        (app["storage_dir"] / bucket).mkdir(parents=True, exist_ok=True)
    app.router.add_post("/storage/v1/object/{bucket}/{path:.+}", upload)
    app.router.add_get("/storage/v1/object/{bucket}/{path:.+}", download)
    app.router.add_delete("/storage/v1/object/{bucket}", remove)
