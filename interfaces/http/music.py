"""`/api/music/`: folders, uploads, tracks, cover art and search."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints

from application.authz import Caller, Principal, tenant_filter, visible_row
from application.commands import library as cmd
from application.rules import TENANT_READ
from domain.library import DuplicateMedia, FolderType, LibraryError
from infra.bootstrap import Container
from interfaces.http.deps import (
    CallerDep,
    ContainerDep,
    PageDep,
    PrincipalDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.errors import problem, status_of
from interfaces.http.library_schemas import (
    FolderOut,
    TrackOut,
    Urls,
    WaveformOut,
    folder_out,
    folder_row,
    track_out,
    track_row,
    waveform_out,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import NO_NUL, ONE_LINE, ONE_LINE_CHECK, Page, problem_responses

router = APIRouter(prefix="/api/music", tags=["music"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Text = Annotated[str, Field(max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]
Description = Annotated[str, Field(max_length=5000, pattern=NO_NUL)]


def urls(container: Container) -> Urls:
    """Signs media keys for this container's storage (music and announcements)."""
    return Urls(container.storage, container.settings.media_url_ttl_seconds)


# -- folders -------------------------------------------------------------------


class FolderIn(BaseModel):
    name: Name
    description: Description = ""
    type: FolderType = FolderType.MUSIC
    is_system: bool = Field(False, description="admins only: a system folder of `client`, "
                            "which the client's users cannot delete")
    client: UUID | None = Field(None, description="admins only: the client of a system folder")


class FolderPatch(BaseModel):
    name: Name | None = None
    description: Description | None = None


class ReorderIn(BaseModel):
    track_ids: list[UUID] = Field(description="every item of the folder, in the new order")


@router.get("/folders/", response_model=Page[FolderOut], summary="List folders",
            openapi_extra=rule_doc(TENANT_READ))
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
             responses=problem_responses(400, 403, 404, 422), summary="Create a folder",
             description="A client's users create its folders; with `is_system`, an admin "
             "creates a system folder in the library of `client`.",
             openapi_extra=rule_doc(cmd.CreateFolder))
def create_folder(body: FolderIn, request: Request, caller: CallerDep,
                  container: ContainerDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, container, caller, _creation(body, caller))
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


def _creation(body: FolderIn, caller: Caller) -> cmd.CreateFolder | cmd.CreateSystemFolder:
    if not body.is_system:
        return cmd.CreateFolder(name=body.name, description=body.description, type=body.type)
    client = body.client or (caller.client_id if isinstance(caller, Principal) else None)
    if client is None:
        raise LibraryError("a system folder needs the client whose library holds it",
                           "client")
    return cmd.CreateSystemFolder(client_id=client, name=body.name,
                                  description=body.description, type=body.type)


@router.get("/folders/{folder_id}/", response_model=FolderOut,
            responses=problem_responses(404), summary="One folder",
            openapi_extra=rule_doc(TENANT_READ))
def get_folder(folder_id: UUID, principal: PrincipalDep, container: ContainerDep,
               wait: WaitForPosition = None) -> FolderOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_folders", folder_id)
    return folder_out(visible_row(principal, row, "folder", folder_id), urls(container))


@router.patch("/folders/{folder_id}/", response_model=FolderOut,
              responses=problem_responses(403, 404, 422), summary="Rename or describe a folder",
              openapi_extra=rule_doc(cmd.ChangeFolder))
def update_folder(folder_id: UUID, body: FolderPatch, request: Request, caller: CallerDep,
                  container: ContainerDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, container, caller, cmd.ChangeFolder(
        folder_id, body.model_dump(exclude_none=True)))
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


@router.delete("/folders/{folder_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a folder (its tracks stay in the library)",
               description="A system folder is deleted only by a sync2gear admin (403 for "
               "the client's own users).",
               openapi_extra=rule_doc(cmd.DeleteFolder))
def delete_folder(folder_id: UUID, request: Request, caller: CallerDep,
                  container: ContainerDep) -> Response:
    position = dispatch(request, container, caller, cmd.DeleteFolder(folder_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/folders/{folder_id}/reorder/", response_model=FolderOut,
             responses=problem_responses(403, 404, 422),
             summary="Replace the order of a folder's tracks at once",
             openapi_extra=rule_doc(cmd.ReorderFolder))
def reorder_folder(folder_id: UUID, body: ReorderIn, request: Request, caller: CallerDep,
                   container: ContainerDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, container, caller, cmd.ReorderFolder(
        folder_id, tuple(body.track_ids)))
    set_position(response, position)
    return folder_out(folder_row(folder), urls(container))


@router.post("/folders/{folder_id}/cover/", response_model=FolderOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload a folder's cover image",
             openapi_extra=rule_doc(cmd.SetFolderCover))
def folder_cover(folder_id: UUID, request: Request, caller: CallerDep,
                 container: ContainerDep, response: Response,
                 file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                 ) -> FolderOut:
    folder, position = dispatch(request, container, caller,
                                cmd.SetFolderCover(folder_id, file))
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


Tag = Annotated[str, Form(max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]


@router.post(
    "/upload/", status_code=201, response_model=UploadResult,
    responses=problem_responses(403, 404, 409, 413, 415, 422, 429),
    dependencies=[Depends(limit("upload", per="principal"))],
    summary="Upload one or more music files (mp3, m4a/aac, ogg/opus, flac, wav)",
    description="Files are checked by content, not by name. Each file is created, reported "
    "as a duplicate (same content already in the library), or rejected with a reason. If "
    "no file was created the answer is the first file's problem (4xx). Metadata and cover "
    "art are read in the background: tracks start in status `processing`.\n\n"
    "Send the files as `files` (several) or as the seed's single `file`. `title` (one file "
    "only), `artist` and `album` given here are the track's: tags read later do not "
    "replace them. For large files over unreliable connections see the resumable "
    "`/api/music/uploads/` (tus).",
    openapi_extra=rule_doc(cmd.UploadTracks),
)
def upload(
    request: Request, caller: CallerDep, container: ContainerDep, response: Response,
    files: Annotated[list[UploadFile] | None, File(description="audio files")] = None,
    file: Annotated[UploadFile | None, File(description="one audio file (the seed's field)")
                    ] = None,
    folder_id: Annotated[UUID | None, Form(description="folder to add them to")] = None,
    folder: Annotated[UUID | None, Form(description="the same as `folder_id` (seed)")] = None,
    title: Tag = "", artist: Tag = "", album: Tag = "",
) -> Any:
    sent = [*(files or []), *([file] if file is not None else [])]
    if not sent:
        return problem(422, "send the audio as `files` or `file`")
    if folder_id and folder and folder_id != folder:
        return problem(422, "`folder` and `folder_id` name different folders")
    if title.strip() and len(sent) > 1:
        return problem(422, "a `title` names one file: upload files with titles one by one")
    command = cmd.UploadTracks(tuple(sent), folder_id or folder,
                               tags=upload_tags(title=title, artist=artist, album=album))
    return upload_answer(dispatch(request, container, caller, command), container, response)


def upload_tags(**given: str) -> tuple[tuple[str, str], ...]:
    """The non-empty tags given with an upload."""
    return tuple((k, v.strip()) for k, v in given.items() if v and v.strip())


def upload_answer(report: cmd.UploadReport, container: Container, response: Response) -> Any:
    """The created tracks, or (none created) the first file's problem."""
    u = urls(container)
    result = UploadResult(created=[track_out(track_row(t), u) for t in report.created],
                          duplicates=[_outcome(r) for r in report.duplicates],
                          rejected=[_outcome(r) for r in report.rejected])
    set_position(response, report.position)
    if result.created:
        return result
    first = (result.rejected or result.duplicates)[0]
    errors = [o.model_dump(mode="json") for o in (*result.rejected, *result.duplicates)]
    return problem(first.status, first.detail, errors=errors)


def _outcome(refused: cmd.Refused) -> UploadOutcome:
    error = refused.error
    if isinstance(error, DuplicateMedia):
        return UploadOutcome(filename=refused.filename, status=409, detail=error.detail,
                             existing_id=UUID(error.existing_id))
    return UploadOutcome(filename=refused.filename, status=status_of(error),
                         detail=error.detail)


@router.get("/files/", response_model=Page[TrackOut], summary="List music files",
            openapi_extra=rule_doc(TENANT_READ))
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
            summary="One music file, with signed URLs", openapi_extra=rule_doc(TENANT_READ))
def get_file(track_id: UUID, principal: PrincipalDep, container: ContainerDep,
             wait: WaitForPosition = None) -> TrackOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_tracks", track_id)
    return track_out(visible_row(principal, row, "track", track_id), urls(container))


@router.get("/files/{track_id}/waveform/", response_model=WaveformOut,
            responses=problem_responses(404), openapi_extra=rule_doc(TENANT_READ),
            summary="A music file's waveform (404 until it has been measured)")
def get_waveform(track_id: UUID, principal: PrincipalDep, container: ContainerDep,
                 wait: WaitForPosition = None) -> WaveformOut:
    container.wait_for_library(wait)
    row = container.library_view.get("library_tracks", track_id)
    return waveform_out(container.storage, visible_row(principal, row, "track", track_id),
                        "track")


class TrackPatch(BaseModel):
    title: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=255, pattern=ONE_LINE),
                     ONE_LINE_CHECK] = None
    artist: Text | None = None
    album: Text | None = None
    genre: Annotated[str | None, Field(max_length=100, pattern=ONE_LINE), ONE_LINE_CHECK] = None
    year: Annotated[int | None, Field(ge=1000, le=9999)] = None
    folder: UUID | None = Field(None, description="move to this folder (null: no folder)")


@router.patch("/files/{track_id}/", response_model=TrackOut,
              responses=problem_responses(403, 404, 422), summary="Edit a track's metadata",
              openapi_extra=rule_doc(cmd.EditTrack))
def update_file(track_id: UUID, body: TrackPatch, request: Request, caller: CallerDep,
                container: ContainerDep, response: Response) -> TrackOut:
    changes = body.model_dump(exclude_unset=True)
    if "folder" in changes:
        changes["folder_id"] = changes.pop("folder")
    for key in ("title", "artist", "album", "genre"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    track, position = dispatch(request, container, caller, cmd.EditTrack(track_id, changes))
    set_position(response, position)
    return track_out(track_row(track), urls(container))


@router.delete("/files/{track_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a track (out of folders and queues; frees its storage)",
               openapi_extra=rule_doc(cmd.DeleteTrack))
def delete_file(track_id: UUID, request: Request, caller: CallerDep,
                container: ContainerDep) -> Response:
    removed = dispatch(request, container, caller, cmd.DeleteTrack(track_id))
    response = Response(status_code=204)
    set_position(response, removed.position)
    return response


@router.post("/files/{track_id}/cover/", response_model=TrackOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload cover art for a track (a thumbnail is made too)",
             openapi_extra=rule_doc(cmd.SetTrackCover))
def track_cover(track_id: UUID, request: Request, caller: CallerDep,
                container: ContainerDep, response: Response,
                file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                ) -> TrackOut:
    track, position = dispatch(request, container, caller, cmd.SetTrackCover(track_id, file))
    set_position(response, position)
    return track_out(track_row(track), urls(container))


@router.get("/search/", response_model=Page[TrackOut],
            summary="Search tracks by title, artist and album (word prefixes)",
            openapi_extra=rule_doc(TENANT_READ))
def search(request: Request, principal: PrincipalDep, container: ContainerDep, page: PageDep,
           q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
           wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_library(wait)
    result = container.library_view.search_tracks(
        client_id=tenant_filter(principal), query=q, offset=page.offset, limit=page.page_size)
    u = urls(container)
    return paginated(request, page, result.count, [track_out(r, u) for r in result.rows])
