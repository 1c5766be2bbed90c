"""The web console (`/`) and the web player (`/player`): static pages, no build step.

Both pages are plain ES modules under `interfaces/web/` that talk to the public
HTTP and WebSocket API only. They are served here, outside the OpenAPI schema,
with a strict Content-Security-Policy (no inline scripts, no third-party code)
and `Cache-Control: no-cache` so a changed file is picked up on the next load.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Media may come from S3 (another origin): played, and fetched into the player's
# offline cache (connect-src); sockets from this origin only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data: blob: https: http:; media-src 'self' blob: https: http:; "
       "connect-src 'self' ws: wss: https: http:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")

router = APIRouter(include_in_schema=False)
_static = StaticFiles(directory=WEB_DIR)


def _page(name: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


@router.get("/")
def console() -> FileResponse:
    return _page("index.html")


@router.get("/player")
def player() -> FileResponse:
    return _page("player.html")


@router.get("/player/")
def player_slash() -> RedirectResponse:
    return RedirectResponse("/player", status_code=308)


@router.get("/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    """A file under interfaces/web/ (StaticFiles refuses paths leaving the folder)."""
    if path.endswith(".html"):
        raise HTTPException(status_code=404)  # pages have their own routes and headers
    response = await _static.get_response(path, request.scope)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
