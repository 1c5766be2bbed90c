"""`/api/music/`: uploads, tracks, cover art and search (folders: interfaces/http/folders.py)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints

from application.authz import tenant_filter, visible_row
from application.commands import library as cmd
from application.rules import TENANT_READ
from application.services import MediaUrls
from domain.library import DuplicateMedia
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    LibraryDep,
    PageDep,
    PrincipalDep,
    StorageDep,
    UrlsDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.errors import problem, status_of
from interfaces.http.library_schemas import (
    TrackOut,
    WaveformOut,
    track_out,
    waveform_out,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import NO_NUL, ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.library import track_row

router = APIRouter(prefix="/api/music", tags=["music"])

Text = Annotated[str, Field(max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]


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
    request: Request, caller: CallerDep, dispatcher: DispatcherDep, urls: UrlsDep,
    response: Response,
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
    return upload_answer(dispatch(request, dispatcher, caller, command), urls, response)


def upload_tags(**given: str) -> tuple[tuple[str, str], ...]:
    """The non-empty tags given with an upload."""
    return tuple((k, v.strip()) for k, v in given.items() if v and v.strip())


def upload_answer(report: cmd.UploadReport, urls: MediaUrls, response: Response) -> Any:
    """The created tracks, or (none created) the first file's problem."""
    result = UploadResult(created=[track_out(track_row(t), urls) for t in report.created],
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
def list_files(request: Request, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep,
               page: PageDep, folder: Annotated[UUID | None, Query(
                   description="only this folder's tracks, in folder order")] = None,
               wait: WaitForPosition = None) -> dict[str, Any]:
    library.wait(wait)
    result = library.view.list_tracks(
        client_id=tenant_filter(principal), folder_id=folder, offset=page.offset,
        limit=page.page_size)
    return paginated(request, page, result.count, [track_out(r, urls) for r in result.rows])


@router.get("/files/{track_id}/", response_model=TrackOut, responses=problem_responses(404),
            summary="One music file, with signed URLs", openapi_extra=rule_doc(TENANT_READ))
def get_file(track_id: UUID, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep,
             wait: WaitForPosition = None) -> TrackOut:
    library.wait(wait)
    row = library.view.get("library_tracks", track_id)
    return track_out(visible_row(principal, row, "track", track_id), urls)


@router.get("/files/{track_id}/waveform/", response_model=WaveformOut,
            responses=problem_responses(404), openapi_extra=rule_doc(TENANT_READ),
            summary="A music file's waveform (404 until it has been measured)")
def get_waveform(track_id: UUID, principal: PrincipalDep, library: LibraryDep, storage: StorageDep,
                 wait: WaitForPosition = None) -> WaveformOut:
    library.wait(wait)
    row = library.view.get("library_tracks", track_id)
    return waveform_out(storage, visible_row(principal, row, "track", track_id),
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
                dispatcher: DispatcherDep, urls: UrlsDep, response: Response) -> TrackOut:
    changes = body.model_dump(exclude_unset=True)
    if "folder" in changes:
        changes["folder_id"] = changes.pop("folder")
    for key in ("title", "artist", "album", "genre"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    track, position = dispatch(request, dispatcher, caller, cmd.EditTrack(track_id, changes))
    set_position(response, position)
    return track_out(track_row(track), urls)


@router.delete("/files/{track_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a track (out of folders and queues; frees its storage)",
               openapi_extra=rule_doc(cmd.DeleteTrack))
def delete_file(track_id: UUID, request: Request, caller: CallerDep,
                dispatcher: DispatcherDep) -> Response:
    removed = dispatch(request, dispatcher, caller, cmd.DeleteTrack(track_id))
    response = Response(status_code=204)
    set_position(response, removed.position)
    return response


@router.post("/files/{track_id}/cover/", response_model=TrackOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload cover art for a track (a thumbnail is made too)",
             openapi_extra=rule_doc(cmd.SetTrackCover))
def track_cover(track_id: UUID, request: Request, caller: CallerDep,
                dispatcher: DispatcherDep, urls: UrlsDep, response: Response,
                file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                ) -> TrackOut:
    track, position = dispatch(request, dispatcher, caller, cmd.SetTrackCover(track_id, file))
    set_position(response, position)
    return track_out(track_row(track), urls)


@router.get("/search/", response_model=Page[TrackOut],
            summary="Search tracks by title, artist and album (word prefixes)",
            openapi_extra=rule_doc(TENANT_READ))
def search(request: Request, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep,
           page: PageDep,
           q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
           wait: WaitForPosition = None) -> dict[str, Any]:
    library.wait(wait)
    result = library.view.search_tracks(
        client_id=tenant_filter(principal), query=q, offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, [track_out(r, urls) for r in result.rows])
