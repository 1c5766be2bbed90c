"""`/api/media/…`: media files of local storage, behind expiring signed URLs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from application.rules import PUBLIC
from infra.storage import LocalStorage, local_file_response
from interfaces.http.deps import ContainerDep, rule_doc

router = APIRouter(prefix="/api/media", tags=["media"])


@router.get(
    "/{key:path}", summary="A media file (signed URL; supports Range for seeking)",
    responses={200: {"content": {"audio/mpeg": {}, "image/jpeg": {}}},
               206: {"description": "Partial content"},
               403: {"description": "Bad or expired signature"}, 404: {"description": "No file"}},
    openapi_extra=rule_doc(PUBLIC),
)
def media(key: str, container: ContainerDep, exp: Annotated[str, Query()] = "",
          sig: Annotated[str, Query()] = "", ct: Annotated[str | None, Query()] = None
          ) -> Response:
    storage = container.storage
    if not isinstance(storage, LocalStorage):
        return Response(status_code=404)
    return local_file_response(storage, key, exp, sig, ct)
