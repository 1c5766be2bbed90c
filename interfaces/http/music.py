"""`/api/music/`: folders, uploads, tracks, cover art and search."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints

from application.authz import owning_client, tenant_filter, visible_row, write_scope
from domain.library import (
    MUSIC_FORMATS,
    DuplicateMedia,
    FolderType,
    LibraryError,
)
from infra.bootstrap import Container
from interfaces.http.deps import (
    ContainerDep,
    PageDep,
    PrincipalDep,
    UserCtx,
    WaitForPosition,
    paginated,
    set_position,
)
from interfaces.http.errors import problem, status_of
from interfaces.http.library_schemas import (
    FolderOut,
    TrackOut,
    Urls,
    folder_out,
    folder_row,
    track_out,
    track_row,
)
from interfaces.http.schemas import NO_NUL, ONE_LINE, Page, problem_responses
from interfaces.http.uploads import read_image, stage, staging, store_audio

router = APIRouter(prefix="/api/music", tags=["music"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE)]
Text = Annotated[str, Field(max_length=255, pattern=ONE_LINE)]
Description = Annotated[str, Field(max_length=5000, pattern=NO_NUL)]


def urls(container: Container) -> Urls:
    """Signs media keys for this container's storage (music and announcements)."""
    return Urls(container.storage, container.settings.media_url_ttl_seconds)


# -- folders -------------------------------------------------------------------


class FolderIn(BaseModel):
    name: Name
    description: Description = ""
    type: FolderType = FolderType.MUSIC


class FolderPatch(BaseModel):
    name: Name | None = None
    description: Description | None = None


class ReorderIn(BaseModel):
    track_ids: list[UUID] = Field(description="every item of the folder, in the new order")


@router.get("/folders/", response_model=Page[FolderOut], summary="List folders")
def list_folders(request: Request, principal: PrincipalDep, container: ContainerDep,
                 page: PageDep, type: FolderType | None = None,  # noqa: A002
                 wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_library(wait)
    result = container.library_view.list_folders(
        client_id=tenant_filter(principal), type=type.value if type else None,
        offset=page.offset, limit=page.page_size)
    u = urls(container)
    return paginated(request, page, result.count, [folder_out(r, u) for r in result.rows])


@router.post("/folders/", status_code=201, response_model=FolderOut,
             responses=problem_responses(403, 422), summary="Create a folder")
def create_folder(body: FolderIn, principal: PrincipalDep, container: ContainerDep,
                  ctx: UserCtx, response: Response) -> FolderOut:
    folder, position = container.library.create_folder(
        ctx, owning_client(principal), type=body.type, name=body.name,
        description=body.description)
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


@router.get("/folders/{folder_id}/", response_model=FolderOut,
            responses=problem_responses(404), summary="One folder")
def get_folder(folder_id: UUID, principal: PrincipalDep, container: ContainerDep,
               wait: WaitForPosition = None) -> FolderOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_folders", folder_id)
    return folder_out(visible_row(principal, row, "folder", folder_id), urls(container))


@router.patch("/folders/{folder_id}/", response_model=FolderOut,
              responses=problem_responses(403, 404, 422), summary="Rename or describe a folder")
def update_folder(folder_id: UUID, body: FolderPatch, principal: PrincipalDep,
                  container: ContainerDep, ctx: UserCtx, response: Response) -> FolderOut:
    folder, position = container.library.change_folder(
        ctx, write_scope(principal), folder_id, **body.model_dump(exclude_none=True))
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


@router.delete("/folders/{folder_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a folder (its tracks stay in the library)")
def delete_folder(folder_id: UUID, principal: PrincipalDep, container: ContainerDep,
                  ctx: UserCtx) -> Response:
    position = container.library.delete_folder(ctx, write_scope(principal), folder_id)
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/folders/{folder_id}/reorder/", response_model=FolderOut,
             responses=problem_responses(403, 404, 422),
             summary="Replace the order of a folder's tracks at once")
def reorder_folder(folder_id: UUID, body: ReorderIn, principal: PrincipalDep,
                   container: ContainerDep, ctx: UserCtx, response: Response) -> FolderOut:
    folder, position = container.library.reorder_folder(
        ctx, write_scope(principal), folder_id, body.track_ids)
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


@router.post("/folders/{folder_id}/cover/", response_model=FolderOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload a folder's cover image")
def folder_cover(folder_id: UUID, principal: PrincipalDep, container: ContainerDep,
                 ctx: UserCtx, response: Response,
                 file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                 ) -> FolderOut:
    scope = write_scope(principal)
    folder = container.library.get_folder(folder_id, scope)
    cover, thumb = _store_cover(container, file, folder.client_id, folder_id)
    folder, position = container.library.set_folder_cover(ctx, scope, folder_id, cover, thumb)
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


# -- tracks --------------------------------------------------------------------


class UploadOutcome(BaseModel):
    filename: str
    status: int
    detail: str
    existing_id: UUID | None = None


class UploadResult(BaseModel):
    created: list[TrackOut]
    duplicates: list[UploadOutcome]
    rejected: list[UploadOutcome]


@router.post(
    "/upload/", status_code=201, response_model=UploadResult,
    responses=problem_responses(403, 404, 409, 413, 415, 422),
    summary="Upload one or more music files (mp3, m4a/aac, ogg/opus, flac, wav)",
    description="Files are checked by content, not by name. Each file is created, reported "
    "as a duplicate (same content already in the library), or rejected with a reason. If "
    "no file was created the answer is the first file's problem (4xx). Metadata and cover "
    "art are read in the background: tracks start in status `processing`.",
)
def upload(
    principal: PrincipalDep, container: ContainerDep, ctx: UserCtx, response: Response,
    files: Annotated[list[UploadFile], File(description="audio files")],
    folder_id: Annotated[UUID | None, Form(description="folder to add them to")] = None,
) -> Any:
    client_id = owning_client(principal)
    if len(files) > container.settings.max_files_per_upload:
        raise LibraryError(f"at most {container.settings.max_files_per_upload} files at once")
    if folder_id is not None:
        container.library.get_folder(folder_id, client_id)
    limit = container.storage_limit(client_id)
    result = UploadResult(created=[], duplicates=[], rejected=[])
    position = None
    u = urls(container)
    with staging() as folder:
        for index, file in enumerate(files):
            try:
                track, position = _upload_one(container, ctx, client_id, file, index, folder,
                                              folder_id, limit)
                result.created.append(track_out(track_row(track), u))
            except DuplicateMedia as e:
                result.duplicates.append(UploadOutcome(
                    filename=file.filename or "", status=409, detail=e.detail,
                    existing_id=UUID(e.existing_id)))
            except LibraryError as e:
                result.rejected.append(UploadOutcome(
                    filename=file.filename or "", status=status_of(e), detail=e.detail))
    set_position(response, position)
    if result.created:
        return result
    first = (result.rejected or result.duplicates)[0]
    errors = [o.model_dump(mode="json") for o in (*result.rejected, *result.duplicates)]
    return problem(first.status, first.detail, errors=errors)


def _upload_one(container: Container, ctx: Any, client_id: UUID, file: UploadFile,
                index: int, folder: Any, folder_id: UUID | None, limit: int) -> Any:
    staged = stage(file, folder, index, container.settings.max_upload_bytes)
    existing = container.library.content_owner(client_id, "track", staged.sha256)
    if existing is not None:
        raise DuplicateMedia(f"{staged.filename} is already in the library (same content)",
                             str(existing))
    track_id = uuid.uuid4()
    stored = store_audio(container, staged, client_id=client_id, item_id=track_id,
                         kind="tracks", allowed=MUSIC_FORMATS)
    try:
        return container.library.add_track(ctx, client_id, track_id, stored,
                                           folder_id=folder_id, limit_bytes=limit)
    except BaseException:
        container.storage.delete(stored.media_key)  # nothing recorded: nothing kept
        raise


@router.get("/files/", response_model=Page[TrackOut], summary="List music files")
def list_files(request: Request, principal: PrincipalDep, container: ContainerDep,
               page: PageDep, folder: Annotated[UUID | None, Query(
                   description="only this folder's tracks, in folder order")] = None,
               wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_library(wait)
    result = container.library_view.list_tracks(
        client_id=tenant_filter(principal), folder_id=folder, offset=page.offset,
        limit=page.page_size)
    u = urls(container)
    return paginated(request, page, result.count, [track_out(r, u) for r in result.rows])


@router.get("/files/{track_id}/", response_model=TrackOut, responses=problem_responses(404),
            summary="One music file, with signed URLs")
def get_file(track_id: UUID, principal: PrincipalDep, container: ContainerDep,
             wait: WaitForPosition = None) -> TrackOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_tracks", track_id)
    return track_out(visible_row(principal, row, "track", track_id), urls(container))


class TrackPatch(BaseModel):
    title: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=255, pattern=ONE_LINE)] = None
    artist: Text | None = None
    album: Text | None = None
    genre: Annotated[str | None, Field(max_length=100, pattern=ONE_LINE)] = None
    year: Annotated[int | None, Field(ge=1000, le=9999)] = None
    folder: UUID | None = Field(None, description="move to this folder (null: no folder)")


@router.patch("/files/{track_id}/", response_model=TrackOut,
              responses=problem_responses(403, 404, 422), summary="Edit a track's metadata")
def update_file(track_id: UUID, body: TrackPatch, principal: PrincipalDep,
                container: ContainerDep, ctx: UserCtx, response: Response) -> TrackOut:
    changes = body.model_dump(exclude_unset=True)
    if "folder" in changes:
        changes["folder_id"] = changes.pop("folder")
    for key in ("title", "artist", "album", "genre"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    track, position = container.library.edit_track(ctx, write_scope(principal), track_id,
                                                    **changes)
    set_position(response, position)
    return track_out(track_row(track), urls(container))


@router.delete("/files/{track_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a track (out of folders and queues; frees its storage)")
def delete_file(track_id: UUID, principal: PrincipalDep, container: ContainerDep,
                ctx: UserCtx) -> Response:
    removed = container.library.delete_track(ctx, write_scope(principal), track_id)
    for key in removed.media_keys:
        container.storage.delete(key)
    response = Response(status_code=204)
    set_position(response, removed.position)
    return response


@router.post("/files/{track_id}/cover/", response_model=TrackOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload cover art for a track (a thumbnail is made too)")
def track_cover(track_id: UUID, principal: PrincipalDep, container: ContainerDep,
                ctx: UserCtx, response: Response,
                file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                ) -> TrackOut:
    scope = write_scope(principal)
    track = container.library.get_track(track_id, scope)
    cover, thumb = _store_cover(container, file, track.client_id, track_id)
    track, position = container.library.set_track_cover(ctx, scope, track_id, cover, thumb)
    set_position(response, position)
    return track_out(track_row(track), urls(container))


@router.get("/search/", response_model=Page[TrackOut],
            summary="Search tracks by title, artist and album (word prefixes)")
def search(request: Request, principal: PrincipalDep, container: ContainerDep, page: PageDep,
           q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
           wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_library(wait)
    result = container.library_view.search_tracks(
        client_id=tenant_filter(principal), query=q, offset=page.offset, limit=page.page_size)
    u = urls(container)
    return paginated(request, page, result.count, [track_out(r, u) for r in result.rows])


# -- helpers -------------------------------------------------------------------


def _store_cover(container: Container, file: UploadFile, client_id: UUID,
                 owner_id: UUID) -> tuple[str, str]:
    data = read_image(file, container.settings.max_image_mb * 1024 * 1024)
    return container.processor.store_cover(client_id, owner_id, data)
