"""`/api/announcements/`: uploaded, recorded and text-to-speech announcements."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, Field, StringConstraints

from application.authz import owning_client, tenant_filter, visible_row, write_scope
from application.playback import zone_state
from domain.library import ANNOUNCEMENT_FORMATS
from domain.track import default_title
from interfaces.http.deps import (
    ContainerDep,
    PageDep,
    PrincipalDep,
    UserCtx,
    WaitForPosition,
    paginated,
    set_position,
)
from interfaces.http.library_schemas import (
    AnnouncementOut,
    announcement_out,
    announcement_row,
)
from interfaces.http.music import urls
from interfaces.http.schemas import NO_NUL, ONE_LINE, Page, problem_responses
from interfaces.http.uploads import stage, staging, store_audio

router = APIRouter(prefix="/api/announcements", tags=["announcements"])

Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255,
                                         pattern=ONE_LINE)]


@router.get("/", response_model=Page[AnnouncementOut], summary="List announcements")
def list_announcements(
    request: Request, principal: PrincipalDep, container: ContainerDep, page: PageDep,
    folder: Annotated[UUID | None, Query(description="only this folder's")] = None,
    wait: WaitForPosition = None,
) -> dict[str, Any]:
    container.wait_for_library(wait)
    result = container.library_view.list_announcements(
        client_id=tenant_filter(principal), folder_id=folder, offset=page.offset,
        limit=page.page_size)
    u = urls(container)
    return paginated(request, page, result.count, [announcement_out(r, u) for r in result.rows])


class SpeechIn(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=5000, pattern=NO_NUL)]
    title: Title = ""
    voice: Annotated[str, Field(max_length=100, pattern=ONE_LINE,
                                description="engine voice name")] = ""
    language: Annotated[str, Field(max_length=20, pattern=ONE_LINE,
                                   examples=["en-US"])] | None = None
    folder: UUID | None = None


@router.post("/tts/", status_code=status.HTTP_202_ACCEPTED, response_model=AnnouncementOut,
             responses=problem_responses(403, 404, 422),
             summary="Create an announcement from text (speech is generated in the background)")
def text_to_speech(body: SpeechIn, principal: PrincipalDep, container: ContainerDep,
                   ctx: UserCtx, response: Response) -> AnnouncementOut:
    ann, position = container.library.request_speech(
        ctx, owning_client(principal), text=body.text, title=body.title, voice=body.voice,
        language=body.language or container.settings.tts_default_language,
        folder_id=body.folder,
    )
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls(container))


@router.post("/upload/", status_code=201, response_model=AnnouncementOut,
             responses=problem_responses(403, 404, 409, 413, 415, 422),
             summary="Upload an announcement (mp3, wav, m4a, or a browser recording: webm/ogg)")
def upload(
    principal: PrincipalDep, container: ContainerDep, ctx: UserCtx, response: Response,
    file: Annotated[UploadFile, File(description="the audio")],
    title: Annotated[str, Form(max_length=255, pattern=ONE_LINE)] = "",
    folder: Annotated[UUID | None, Form()] = None,
    is_recording: Annotated[bool, Form(description="recorded in the browser")] = False,
) -> AnnouncementOut:
    client_id = owning_client(principal)
    if folder is not None:
        container.library.get_folder(folder, client_id)
    limit = container.storage_limit(client_id)
    ann_id = uuid.uuid4()
    with staging() as tmp:
        staged = stage(file, tmp, 0, container.settings.max_upload_bytes)
        stored = store_audio(container, staged, client_id=client_id, item_id=ann_id,
                             kind="announcements", allowed=ANNOUNCEMENT_FORMATS)
    try:
        ann, position = container.library.add_announcement(
            ctx, client_id, ann_id, stored, title=title or default_title(staged.filename),
            folder_id=folder, is_recording=is_recording, limit_bytes=limit)
    except BaseException:
        container.storage.delete(stored.media_key)
        raise
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls(container))


@router.get("/{announcement_id}/", response_model=AnnouncementOut,
            responses=problem_responses(404), summary="One announcement")
def get_announcement(announcement_id: UUID, principal: PrincipalDep, container: ContainerDep,
                     wait: WaitForPosition = None) -> AnnouncementOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_announcements", announcement_id)
    return announcement_out(visible_row(principal, row, "announcement", announcement_id),
                            urls(container))


class AnnouncementPatch(BaseModel):
    title: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=255, pattern=ONE_LINE)] = None
    folder: UUID | None = Field(None, description="move to this announcement folder")


@router.patch("/{announcement_id}/", response_model=AnnouncementOut,
              responses=problem_responses(403, 404, 422), summary="Rename or move")
def update_announcement(announcement_id: UUID, body: AnnouncementPatch,
                        principal: PrincipalDep, container: ContainerDep, ctx: UserCtx,
                        response: Response) -> AnnouncementOut:
    changes = body.model_dump(exclude_unset=True)
    if "folder" in changes:
        changes["folder_id"] = changes.pop("folder")
    if changes.get("title", "") is None:
        changes.pop("title")
    ann, position = container.library.edit_announcement(
        ctx, write_scope(principal), announcement_id, **changes)
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls(container))


@router.delete("/{announcement_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404), summary="Delete an announcement")
def delete_announcement(announcement_id: UUID, principal: PrincipalDep,
                        container: ContainerDep, ctx: UserCtx) -> Response:
    removed = container.library.delete_announcement(ctx, write_scope(principal),
                                                    announcement_id)
    for key in removed.media_keys:
        container.storage.delete(key)
    response = Response(status_code=204)
    set_position(response, removed.position)
    return response


class PlayInstantIn(BaseModel):
    zone_ids: list[UUID] = Field(min_length=1, description="zones to interrupt now")


@router.post("/{announcement_id}/play-instant/", response_model=list[dict[str, Any]],
             responses=problem_responses(403, 404, 409),
             summary="Play an announcement now in these zones (the music resumes after)")
def play_instant(announcement_id: UUID, body: PlayInstantIn, principal: PrincipalDep,
                 container: ContainerDep, ctx: UserCtx, response: Response) -> Any:
    scope = write_scope(principal)
    ann = container.library.get_announcement(announcement_id, scope)
    item = container.catalog.announcement_item(ann.client_id, ann.id)
    results = container.playback.play_announcement(ctx, ann.client_id, body.zone_ids, item)
    set_position(response, results[-1][1] if results else None)
    return [zone_state(zone) for zone, _ in results]
