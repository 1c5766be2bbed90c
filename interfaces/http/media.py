"""`/api/media/…`: media files of local storage, behind expiring signed URLs."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse

from application.ports import LocalFiles
from application.rules import PUBLIC
from interfaces.http.deps import LocalFilesDep, rule_doc

router = APIRouter(prefix="/api/media", tags=["media"])


@router.get(
    "/{key:path}", summary="A media file (signed URL; supports Range for seeking)",
    responses={200: {"content": {"audio/mpeg": {}, "image/jpeg": {}}},
               206: {"description": "Partial content"},
               403: {"description": "Bad or expired signature"}, 404: {"description": "No file"}},
    openapi_extra=rule_doc(PUBLIC),
)
def media(key: str, files: LocalFilesDep, exp: Annotated[str, Query()] = "",
          sig: Annotated[str, Query()] = "", ct: Annotated[str | None, Query()] = None
          ) -> Response:
    if files is None:  # media is not kept locally: signed URLs point elsewhere
        return Response(status_code=404)
    return local_file_response(files, key, exp, sig, ct)


def local_file_response(files: LocalFiles, key: str, exp: str, sig: str,
                        ct: str | None) -> Response:
    """The answer to a signed media URL; FileResponse handles Range (206) itself."""
    try:
        valid = files.verify(key, int(exp), sig, ct)
    except ValueError:
        valid = False
    if not valid:
        return _problem(403, "Forbidden", "The media link is invalid or has expired.")
    try:
        path = files.path_of(key)
    except ValueError:
        path = None
    if path is None or not path.is_file():
        return _problem(404, "Not Found", "No such media file.")
    media_type = ct or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
