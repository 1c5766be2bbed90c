"""Resumable uploads (tus 1.0.0) of music and announcements.

A client creates an upload (POST with `Upload-Length` and `Upload-Metadata`),
sends its bytes in PATCHes from the offset the server holds, and after an
interruption asks where it stands (HEAD) and goes on from there. When the last
byte arrives the file goes to the plain upload command (`UploadTracks` or
`UploadAnnouncement`): the same checks, de-duplication, quota and metadata job.

Our own small router rather than `tuspyserver`'s: its routes know nothing of
whose an upload is (any signed-in caller could append to or read another
client's upload by id), add a download route and cross-upload concatenation we
do not want, answer errors as `{"detail"}` rather than problem documents, and
run the completion hook on the event loop, which our synchronous command
dispatcher would block.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from email.utils import formatdate
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from application.authz import Principal
from application.commands import announcements as ann_cmd
from application.commands import library as music_cmd
from application.commands.resumable import StartResumableUpload
from application.dispatch import Dispatcher
from application.resumable import PendingUpload, ResumableUploads
from application.rules import PUBLIC, TENANT_WRITE, Target
from application.services import MediaUrls
from domain.base import DomainError, NotFound
from domain.library import MediaTooLarge
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    PrincipalDep,
    SettingsDep,
    UploadsDep,
    UrlsDep,
    dispatch,
    rule_doc,
)
from interfaces.http.errors import problem
from interfaces.http.music import upload_answer, upload_tags
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import problem_responses

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,expiration,termination"
OFFSET_STREAM = "application/offset+octet-stream"
EXPOSED_HEADERS = ("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
                   "Upload-Offset", "Upload-Length", "Upload-Expires")
# Upload-Metadata keys a client may send (others are ignored).
METADATA_KEYS = {
    "music": ("filename", "title", "artist", "album", "folder"),
    "announcement": ("filename", "title", "folder", "is_recording"),
}
WHERE = {"music": "/api/music", "announcement": "/api/announcements"}
ITEM_PATH = {"music": "/api/music/files/{}/", "announcement": "/api/announcements/{}/"}

TusResumable = Annotated[str | None, Header(description="the protocol version: `1.0.0`")]


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def expires(uploads: ResumableUploads, pending: PendingUpload) -> str:
    return formatdate(uploads.expires_at(pending), usegmt=True)


def version_problem(tus_resumable: str | None) -> Response | None:
    if tus_resumable == TUS_VERSION:
        return None
    return problem(412, f"send `Tus-Resumable: {TUS_VERSION}`",
                   headers={"Tus-Version": TUS_VERSION})


def parse_metadata(header: str, kind: str) -> dict[str, str]:
    """`key base64,key base64` into text values (keys we do not use are dropped)."""
    metadata: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            text = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError(f"Upload-Metadata `{key}` is not base64 of UTF-8 text") from None
        if key in METADATA_KEYS[kind]:
            if len(text) > 255 or not text.isprintable():
                raise ValueError(f"Upload-Metadata `{key}`: one line of at most 255 characters")
            metadata[key] = text.strip()
    return metadata


def own(uploads: ResumableUploads, upload_id: UUID, principal: Principal,
        kind: str) -> PendingUpload:
    """An upload of this kind that the caller may write to: its client's users
    (another client's is 404, as any other tenant's object), not staff (403)."""
    pending = uploads.get(upload_id)
    if pending.kind != kind:
        raise NotFound(f"upload {upload_id} not found")
    TENANT_WRITE.grant(principal, Target("upload", upload_id), pending.client_id)
    return pending


def build_router(kind: str) -> APIRouter:
    router = APIRouter(prefix=f"{WHERE[kind]}/uploads", tags=["uploads"])
    what = "music file" if kind == "music" else "announcement"

    @router.options("/", status_code=204, response_class=Response,
                    summary=f"Resumable {what} uploads: what the server supports (tus)",
                    openapi_extra=rule_doc(PUBLIC))
    def discover(settings: SettingsDep) -> Response:
        return Response(status_code=204, headers={
            "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes)})

    @router.post(
        "/", status_code=201, response_class=Response,
        responses=problem_responses(403, 404, 412, 413, 422, 429),
        dependencies=[Depends(limit("upload", per="principal"))],
        summary=f"Start a resumable {what} upload (tus creation)",
        description="tus 1.0.0 creation: `Upload-Length` (bytes) and `Upload-Metadata` "
        f"(`key base64`, comma-separated: {', '.join(METADATA_KEYS[kind])}). Refused "
        "(413) when larger than one upload may be or than the client's free storage. "
        "Answers `Location`, the upload's URL, and `Upload-Expires`: an upload not "
        "finished by then is removed (each PATCH pushes the time on).",
        openapi_extra=rule_doc(StartResumableUpload),
    )
    def create(request: Request, caller: CallerDep, dispatcher: DispatcherDep,
               uploads: UploadsDep,
               upload_length: Annotated[int, Header(gt=0, description="bytes in all")],
               upload_metadata: Annotated[str, Header(max_length=4096)] = "",
               tus_resumable: TusResumable = None) -> Response:
        if (refused := version_problem(tus_resumable)) is not None:
            return refused
        try:
            metadata = parse_metadata(upload_metadata, kind)
            folder = UUID(metadata["folder"]) if metadata.get("folder") else None
        except ValueError as e:
            return problem(422, str(e).replace("badly formed hexadecimal UUID string",
                                               "`folder` is not a UUID"))
        pending = dispatch(request, dispatcher, caller, StartResumableUpload(
            kind=kind, length=upload_length, metadata=tuple(metadata.items()),
            folder_id=folder))
        return Response(status_code=201, headers=tus_headers(
            Location=f"{WHERE[kind]}/uploads/{pending.id}/",
            **{"Upload-Offset": "0", "Upload-Expires": expires(uploads, pending)}))

    @router.head(
        "/{upload_id}/", status_code=200, response_class=Response,
        responses=problem_responses(403, 404, 412),
        summary=f"Where a resumable {what} upload stands (tus HEAD)",
        description="`Upload-Offset`: the bytes the server holds, where the next PATCH "
        "starts. 404 for an unknown, expired, finished or another client's upload.",
        openapi_extra=rule_doc(TENANT_WRITE),
    )
    def status(upload_id: UUID, principal: PrincipalDep, uploads: UploadsDep,
               tus_resumable: TusResumable = None) -> Response:
        if (refused := version_problem(tus_resumable)) is not None:
            return refused
        pending = own(uploads, upload_id, principal, kind)
        return Response(status_code=200, headers=tus_headers(**{
            "Upload-Offset": str(uploads.offset(pending)),
            "Upload-Length": str(pending.length), "Upload-Expires": expires(uploads, pending)}))

    @router.patch(
        "/{upload_id}/", status_code=204, response_class=Response,
        responses=problem_responses(403, 404, 409, 412, 413, 415, 422),
        summary=f"Send bytes of a resumable {what} upload (tus PATCH)",
        description="The body (`Content-Type: application/offset+octet-stream`) is "
        "appended at `Upload-Offset`, which must be the offset the server holds (else "
        "409). Bytes that arrive before a connection breaks are kept. When the last "
        "byte arrives the file is added as by the plain upload: 204 with "
        "`Content-Location` (the new item) and `X-Event-Position`, or that upload's "
        "problem (409 for a duplicate, 413, 415, 422); either way the upload is gone.",
        openapi_extra=rule_doc(TENANT_WRITE),
    )
    async def append(upload_id: UUID, request: Request, principal: PrincipalDep,
                     dispatcher: DispatcherDep, urls: UrlsDep, uploads: UploadsDep,
                     upload_offset: Annotated[int, Header(ge=0)],
                     content_type: Annotated[str, Header()] = "",
                     tus_resumable: TusResumable = None) -> Response:
        if (refused := version_problem(tus_resumable)) is not None:
            return refused
        if content_type.split(";")[0].strip() != OFFSET_STREAM:
            return problem(415, f"send the bytes as `Content-Type: {OFFSET_STREAM}`")
        pending = await run_in_threadpool(own, uploads, upload_id, principal, kind)
        offset = await receive(request, uploads, pending, upload_offset)
        if offset < pending.length:
            return Response(status_code=204, headers=tus_headers(**{
                "Upload-Offset": str(offset), "Upload-Expires": expires(uploads, pending)}))
        sent = Sent(request, dispatcher, urls, principal)
        return await run_in_threadpool(finish, sent, uploads, pending)

    @router.delete(
        "/{upload_id}/", status_code=204, response_class=Response,
        responses=problem_responses(403, 404, 412),
        summary=f"Abandon a resumable {what} upload (tus termination)",
        openapi_extra=rule_doc(TENANT_WRITE),
    )
    def terminate(upload_id: UUID, principal: PrincipalDep, uploads: UploadsDep,
                  tus_resumable: TusResumable = None) -> Response:
        if (refused := version_problem(tus_resumable)) is not None:
            return refused
        uploads.remove(own(uploads, upload_id, principal, kind).id)
        return Response(status_code=204, headers=tus_headers())

    return router


async def receive(request: Request, uploads: ResumableUploads, pending: PendingUpload,
                  offset: int) -> int:
    """Append the request's body at `offset`; the new offset. Writes go straight to
    the local disk from the event loop: chunks are small and local writes quick."""
    with uploads.appending(pending, offset) as out:
        try:
            async for chunk in request.stream():
                if out.tell() + len(chunk) > pending.length:
                    raise MediaTooLarge("more bytes than the upload's Upload-Length")
                out.write(chunk)
        except ClientDisconnect:
            pass  # keep what arrived: the client resumes from here
        return out.tell()


@dataclass(frozen=True)
class Sent:
    """Who sent an upload, in which request, and what its last byte is handed to."""

    request: Request
    dispatcher: Dispatcher
    urls: MediaUrls
    principal: Principal


def finish(sent: Sent, uploads: ResumableUploads, pending: PendingUpload) -> Response:
    """Hand the finished file to the plain upload command; the upload is gone after."""
    try:
        with uploads.received(pending) as incoming:
            answer = _upload(sent, pending, incoming)
    except DomainError:
        uploads.remove(pending.id)  # refused for good: a retry would be refused too
        raise
    uploads.remove(pending.id)
    return answer


def _upload(sent: Sent, pending: PendingUpload, incoming: Any) -> Response:
    meta = pending.metadata
    folder = UUID(meta["folder"]) if meta.get("folder") else None
    done = Response(status_code=204, headers=tus_headers(
        **{"Upload-Offset": str(pending.length)}))
    if pending.kind == "music":
        report = dispatch(sent.request, sent.dispatcher, sent.principal, music_cmd.UploadTracks(
            (incoming,), folder, tags=upload_tags(title=meta.get("title", ""),
                                                  artist=meta.get("artist", ""),
                                                  album=meta.get("album", ""))))
        answer: Response = upload_answer(report, sent.urls, done)
        if not report.created:
            return answer  # the plain upload's problem (a duplicate: 409 with its id)
        item_id = report.created[0].id
    else:
        command = ann_cmd.UploadAnnouncement(
            incoming, title=meta.get("title", ""), folder_id=folder,
            is_recording=meta.get("is_recording", "").lower() in ("1", "true"))
        ann, position = dispatch(sent.request, sent.dispatcher, sent.principal, command)
        item_id = ann.id
        if position is not None:
            done.headers["X-Event-Position"] = str(position)
    done.headers["Content-Location"] = ITEM_PATH[pending.kind].format(item_id)
    return done


music = build_router("music")
announcements = build_router("announcement")
