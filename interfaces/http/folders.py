"""`/api/music/folders/`: folders of music and announcements, their order and cover."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints

from application.authz import Caller, Principal, tenant_filter, visible_row
from application.commands import library as cmd
from application.rules import TENANT_READ
from domain.library import FolderType, LibraryError
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    LibraryDep,
    PageDep,
    PrincipalDep,
    UrlsDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.library_schemas import FolderOut, folder_out
from interfaces.http.schemas import NO_NUL, ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.library import folder_row

router = APIRouter(prefix="/api/music", tags=["music"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Description = Annotated[str, Field(max_length=5000, pattern=NO_NUL)]


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
def list_folders(request: Request, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep,
                 page: PageDep, type: FolderType | None = None,  # noqa: A002
                 wait: WaitForPosition = None) -> dict[str, Any]:
    library.wait(wait)
    result = library.view.list_folders(
        client_id=tenant_filter(principal), type=type.value if type else None,
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, [folder_out(r, urls) for r in result.rows])


@router.post("/folders/", status_code=201, response_model=FolderOut,
             responses=problem_responses(400, 403, 404, 422), summary="Create a folder",
             description="A client's users create its folders; with `is_system`, an admin "
             "creates a system folder in the library of `client`.",
             openapi_extra=rule_doc(cmd.CreateFolder))
def create_folder(body: FolderIn, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep, urls: UrlsDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, dispatcher, caller, _creation(body, caller))
    set_position(response, position)
    return folder_out(folder_row(folder), urls)


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
def get_folder(folder_id: UUID, principal: PrincipalDep, library: LibraryDep, urls: UrlsDep,
               wait: WaitForPosition = None) -> FolderOut:
    library.wait(wait)
    row = library.view.get("library_folders", folder_id)
    return folder_out(visible_row(principal, row, "folder", folder_id), urls)


@router.patch("/folders/{folder_id}/", response_model=FolderOut,
              responses=problem_responses(403, 404, 422), summary="Rename or describe a folder",
              openapi_extra=rule_doc(cmd.ChangeFolder))
def update_folder(folder_id: UUID, body: FolderPatch, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep, urls: UrlsDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, dispatcher, caller, cmd.ChangeFolder(
        folder_id, body.model_dump(exclude_none=True)))
    set_position(response, position)
    return folder_out(folder_row(folder), urls)


@router.delete("/folders/{folder_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a folder (its tracks stay in the library)",
               description="A system folder is deleted only by a sync2gear admin (403 for "
               "the client's own users).",
               openapi_extra=rule_doc(cmd.DeleteFolder))
def delete_folder(folder_id: UUID, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep) -> Response:
    position = dispatch(request, dispatcher, caller, cmd.DeleteFolder(folder_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/folders/{folder_id}/reorder/", response_model=FolderOut,
             responses=problem_responses(403, 404, 422),
             summary="Replace the order of a folder's tracks at once",
             openapi_extra=rule_doc(cmd.ReorderFolder))
def reorder_folder(folder_id: UUID, body: ReorderIn, request: Request, caller: CallerDep,
                   dispatcher: DispatcherDep, urls: UrlsDep, response: Response) -> FolderOut:
    folder, position = dispatch(request, dispatcher, caller, cmd.ReorderFolder(
        folder_id, tuple(body.track_ids)))
    set_position(response, position)
    return folder_out(folder_row(folder), urls)


@router.post("/folders/{folder_id}/cover/", response_model=FolderOut,
             responses=problem_responses(403, 404, 413, 415, 422),
             summary="Upload a folder's cover image",
             openapi_extra=rule_doc(cmd.SetFolderCover))
def folder_cover(folder_id: UUID, request: Request, caller: CallerDep,
                 dispatcher: DispatcherDep, urls: UrlsDep, response: Response,
                 file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
                 ) -> FolderOut:
    folder, position = dispatch(request, dispatcher, caller,
                                cmd.SetFolderCover(folder_id, file))
    set_position(response, position)
    return folder_out(folder_row(folder), urls)
