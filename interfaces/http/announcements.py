"""`/api/announcements/`: uploaded, recorded and text-to-speech announcements."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, Field, StringConstraints

from application.authz import tenant_filter, visible_row
from application.commands import announcements as cmd
from application.rules import TENANT_READ
from domain.live_state import zone_state
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    LibraryDep,
    LoudnessDep,
    PageDep,
    PrincipalDep,
    SettingsDep,
    StorageDep,
    UrlsDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.library_schemas import (
    AnnouncementOut,
    WaveformOut,
    announcement_out,
    waveform_out,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import NO_NUL, ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.library import announcement_row

router = APIRouter(prefix="/api/announcements", tags=["announcements"])

Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255,
                                         pattern=ONE_LINE), ONE_LINE_CHECK]


@router.get("/", response_model=Page[AnnouncementOut], summary="List announcements",
            openapi_extra=rule_doc(TENANT_READ))
def list_announcements(
    request: Request, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep, page: PageDep,
    folder: Annotated[UUID | None, Query(description="only this folder's")] = None,
    wait: WaitForPosition = None,
) -> dict[str, Any]:
    library.wait(wait)
    result = library.view.list_announcements(
        client_id=tenant_filter(principal), folder_id=folder, offset=page.offset,
        limit=page.page_size)
    return paginated(request, page, result.count, [announcement_out(r, urls) for r in result.rows])


class SpeechIn(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=5000, pattern=NO_NUL)]
    title: Title = ""
    voice: Annotated[str, Field(max_length=100, pattern=ONE_LINE,
                                description="engine voice name"), ONE_LINE_CHECK] = ""
    language: Annotated[str, Field(max_length=20, pattern=ONE_LINE,
                                   examples=["en-US"]), ONE_LINE_CHECK] | None = None
    folder: UUID | None = None


@router.post("/tts/", status_code=status.HTTP_202_ACCEPTED, response_model=AnnouncementOut,
             responses=problem_responses(403, 404, 422, 429),
             dependencies=[Depends(limit("tts", per="principal"))],
             summary="Create an announcement from text (speech is generated in the background)",
             openapi_extra=rule_doc(cmd.RequestSpeech))
def text_to_speech(body: SpeechIn, request: Request, caller: CallerDep,
                   dispatcher: DispatcherDep, urls: UrlsDep, settings: SettingsDep,
                   response: Response) -> AnnouncementOut:
    ann, position = dispatch(request, dispatcher, caller, cmd.RequestSpeech(
        text=body.text, title=body.title, voice=body.voice,
        language=body.language or settings.tts_default_language,
        folder_id=body.folder,
    ))
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls)


@router.post("/upload/", status_code=201, response_model=AnnouncementOut,
             responses=problem_responses(403, 404, 409, 413, 415, 422, 429),
             dependencies=[Depends(limit("upload", per="principal"))],
             summary="Upload an announcement (mp3, wav, m4a, or a browser recording: webm/ogg)",
             openapi_extra=rule_doc(cmd.UploadAnnouncement))
def upload(
    request: Request, caller: CallerDep, dispatcher: DispatcherDep, urls: UrlsDep,
    response: Response,
    file: Annotated[UploadFile, File(description="the audio")],
    title: Annotated[str, Form(max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK] = "",
    folder: Annotated[UUID | None, Form()] = None,
    is_recording: Annotated[bool, Form(description="recorded in the browser")] = False,
) -> AnnouncementOut:
    ann, position = dispatch(request, dispatcher, caller, cmd.UploadAnnouncement(
        file, title=title, folder_id=folder, is_recording=is_recording))
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls)


@router.get("/{announcement_id}/", response_model=AnnouncementOut,
            responses=problem_responses(404), summary="One announcement",
            openapi_extra=rule_doc(TENANT_READ))
def get_announcement(announcement_id: UUID, principal: PrincipalDep, library: LibraryDep,
                     urls: UrlsDep,
                     wait: WaitForPosition = None) -> AnnouncementOut:
    library.wait(wait)
    row = library.view.get("library_announcements", announcement_id)
    return announcement_out(visible_row(principal, row, "announcement", announcement_id),
                            urls)


@router.get("/{announcement_id}/waveform/", response_model=WaveformOut,
            responses=problem_responses(404), openapi_extra=rule_doc(TENANT_READ),
            summary="An announcement's waveform (404 until it has been measured)")
def get_waveform(announcement_id: UUID, principal: PrincipalDep, library: LibraryDep,
                 storage: StorageDep,
                 wait: WaitForPosition = None) -> WaveformOut:
    library.wait(wait)
    row = library.view.get("library_announcements", announcement_id)
    return waveform_out(storage,
                        visible_row(principal, row, "announcement", announcement_id),
                        "announcement")


class AnnouncementPatch(BaseModel):
    title: Annotated[str | None, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=255, pattern=ONE_LINE),
                     ONE_LINE_CHECK] = None
    folder: UUID | None = Field(None, description="move to this announcement folder")


@router.patch("/{announcement_id}/", response_model=AnnouncementOut,
              responses=problem_responses(403, 404, 422), summary="Rename or move",
              openapi_extra=rule_doc(cmd.EditAnnouncement))
def update_announcement(announcement_id: UUID, body: AnnouncementPatch, request: Request,
                        caller: CallerDep, dispatcher: DispatcherDep, urls: UrlsDep,
                        response: Response) -> AnnouncementOut:
    changes = body.model_dump(exclude_unset=True)
    if "folder" in changes:
        changes["folder_id"] = changes.pop("folder")
    if changes.get("title", "") is None:
        changes.pop("title")
    ann, position = dispatch(request, dispatcher, caller,
                             cmd.EditAnnouncement(announcement_id, changes))
    set_position(response, position)
    return announcement_out(announcement_row(ann), urls)


@router.delete("/{announcement_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404), summary="Delete an announcement",
               openapi_extra=rule_doc(cmd.DeleteAnnouncement))
def delete_announcement(announcement_id: UUID, request: Request, caller: CallerDep,
                        dispatcher: DispatcherDep) -> Response:
    removed = dispatch(request, dispatcher, caller, cmd.DeleteAnnouncement(announcement_id))
    response = Response(status_code=204)
    set_position(response, removed.position)
    return response


class PlayInstantIn(BaseModel):
    zone_ids: list[UUID] = Field(min_length=1, description="zones to interrupt now")


@router.post("/{announcement_id}/play-instant/", response_model=list[dict[str, Any]],
             responses=problem_responses(403, 404, 409),
             summary="Play an announcement now in these zones (the music resumes after)",
             openapi_extra=rule_doc(cmd.PlayAnnouncementNow))
def play_instant(announcement_id: UUID, body: PlayInstantIn, request: Request,
                 caller: CallerDep, dispatcher: DispatcherDep, loudness: LoudnessDep,
                 response: Response) -> Any:
    results = dispatch(request, dispatcher, caller, cmd.PlayAnnouncementNow(
        announcement_id, tuple(body.zone_ids)))
    set_position(response, results[-1][1] if results else None)
    measured = loudness.for_zones([zone for zone, _ in results])
    return [zone_state(zone, measured) for zone, _ in results]
