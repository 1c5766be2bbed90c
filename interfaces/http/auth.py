"""`/api/auth/`: sign-up, login, token refresh and logout, profile, passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile, status
from pydantic import BaseModel, EmailStr, Field, StringConstraints

from application.accounts import SessionGrant
from application.commands import accounts as cmd
from application.ports import Tokens
from application.rules import SIGNED_IN
from application.services import MediaUrls
from domain.base import NotFound
from interfaces.http.deps import (
    AccountsDep,
    CallerDep,
    DispatcherDep,
    PrincipalDep,
    TokensDep,
    UrlsDep,
    WaitForPosition,
    dispatch,
    rule_doc,
    set_position,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import (
    ONE_LINE,
    ONE_LINE_CHECK,
    Detail,
    TokenPair,
    UserOut,
    UserRow,
    problem_responses,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])

Password = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Phone = Annotated[str, Field(max_length=50, pattern=ONE_LINE), ONE_LINE_CHECK]
Timezone = Annotated[str, Field(max_length=64, pattern=ONE_LINE, examples=["Europe/London"]),
                     ONE_LINE_CHECK]


class SignupIn(BaseModel):
    email: EmailStr
    password: Password
    name: Name
    client_name: Name = Field(description="The business this account is for")
    phone: Phone = ""
    timezone: Timezone = "UTC"


class LoginIn(BaseModel):
    email: EmailStr
    password: Password


class RefreshIn(BaseModel):
    refresh: str = Field(min_length=1, max_length=4096)


class ProfileIn(BaseModel):
    name: Name | None = None
    phone: Phone | None = None
    timezone: Timezone | None = None


class ChangePasswordIn(BaseModel):
    old_password: Password
    new_password: Password


class PasswordChanged(Detail):
    access: str = Field(description="this session's new access token")
    refresh: str = Field(description="this session's new refresh token")


class ResetIn(BaseModel):
    email: EmailStr


class ResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=512)
    new_password: Password


@router.post("/signup/", status_code=status.HTTP_201_CREATED, response_model=TokenPair,
             responses=problem_responses(409, 422, 429),
             dependencies=[Depends(limit("signup", per="ip"))],
             summary="Register a business (client) and its first user",
             openapi_extra=rule_doc(cmd.SignUp))
def signup(body: SignupIn, request: Request, dispatcher: DispatcherDep, tokens: TokensDep,
           urls: UrlsDep,
           response: Response) -> TokenPair:
    grant = dispatch(request, dispatcher, None, cmd.SignUp(
        email=body.email, password=body.password, name=body.name,
        client_name=body.client_name, phone=body.phone, timezone=body.timezone))
    return _tokens(tokens, urls, response, grant)


@router.post("/login/", response_model=TokenPair, responses=problem_responses(401, 403, 429),
             dependencies=[Depends(limit("login_ip", per="ip")),
                           Depends(limit("login", per="ip+email"))],
             summary="Log in with email and password", openapi_extra=rule_doc(cmd.LogIn))
def login(body: LoginIn, request: Request, dispatcher: DispatcherDep, tokens: TokensDep,
          urls: UrlsDep,
          response: Response) -> TokenPair:
    grant = dispatch(request, dispatcher, None, cmd.LogIn(body.email, body.password))
    return _tokens(tokens, urls, response, grant)


@router.post("/refresh/", response_model=TokenPair, responses=problem_responses(401, 403, 429),
             dependencies=[Depends(limit("refresh", per="ip"))],
             summary="Swap a refresh token for a new pair (the old one stops working)",
             openapi_extra=rule_doc(cmd.RefreshSession))
def refresh(body: RefreshIn, request: Request, dispatcher: DispatcherDep, tokens: TokensDep,
            urls: UrlsDep,
            response: Response) -> TokenPair:
    claims = tokens.refresh(body.refresh)
    grant = dispatch(request, dispatcher, None, cmd.RefreshSession(
        claims.session_id, claims.token_id, claims.credentials_version))
    return _tokens(tokens, urls, response, grant)


def _tokens(tokens: Tokens, urls: MediaUrls, response: Response,
            grant: SessionGrant) -> TokenPair:
    set_position(response, grant.position)
    pair = tokens.pair(grant.user, grant.session_id, grant.token_id)
    return TokenPair(**pair, user=UserOut.of(grant.user, urls))


@router.post("/logout/", response_model=Detail, responses=problem_responses(401, 429),
             dependencies=[Depends(limit("refresh", per="ip"))],
             summary="End a session (the refresh token's whole rotation family)",
             description="The refresh token is the credential: an access token is not needed "
             "(if one is sent, it must be the same user's). Every token of the session is "
             "refused from then on, and the session's open WebSockets are closed (4401).",
             openapi_extra=rule_doc(cmd.LogOut))
def logout(body: RefreshIn, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
           tokens: TokensDep,
           response: Response) -> Detail:
    claims = tokens.refresh(body.refresh)
    position = dispatch(request, dispatcher, caller, cmd.LogOut(claims.user_id,
                                                                claims.session_id))
    set_position(response, position)
    return Detail(detail="logged out")


@router.get("/me/", response_model=UserRow, responses=problem_responses(401, 404, 504),
            summary="The current user, from the users read model",
            openapi_extra=rule_doc(SIGNED_IN))
def me(principal: PrincipalDep, accounts: AccountsDep, urls: UrlsDep,
       wait: WaitForPosition = None) -> UserRow:
    accounts.wait(wait)
    row = accounts.view.get_user(principal.user_id)
    if row is None:
        # Not projected yet (a brand-new account): wait for the current head once.
        row = accounts.latest().get_user(principal.user_id)
    if row is None:
        raise NotFound("user not found")
    return UserRow.of_row(row, urls)


@router.patch("/me/", response_model=UserOut, responses=problem_responses(401, 422),
              summary="Update the current user's name, phone or timezone",
              openapi_extra=rule_doc(cmd.UpdateProfile))
def update_me(body: ProfileIn, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
              urls: UrlsDep,
              response: Response) -> UserOut:
    user, position = dispatch(request, dispatcher, caller, cmd.UpdateProfile(
        body.model_dump(exclude_unset=True, exclude_none=True)))
    set_position(response, position)
    return UserOut.of(user, urls)


@router.post("/me/avatar/", response_model=UserOut,
             responses=problem_responses(401, 413, 415, 422, 429),
             dependencies=[Depends(limit("upload", per="principal"))],
             summary="Upload the current user's avatar (its thumbnail is made too)",
             description="The image replaces any earlier avatar; the profile shows both "
             "as signed, expiring URLs (`avatar_url`, `avatar_thumbnail_url`).",
             openapi_extra=rule_doc(cmd.SetAvatar))
def set_avatar(request: Request, caller: CallerDep, dispatcher: DispatcherDep, urls: UrlsDep,
               response: Response,
               avatar: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")]
               ) -> UserOut:
    user, position = dispatch(request, dispatcher, caller, cmd.SetAvatar(avatar))
    set_position(response, position)
    return UserOut.of(user, urls)


@router.delete("/me/avatar/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=problem_responses(401), summary="Remove the current user's avatar",
               openapi_extra=rule_doc(cmd.RemoveAvatar))
def remove_avatar(request: Request, caller: CallerDep, dispatcher: DispatcherDep) -> Response:
    _, position = dispatch(request, dispatcher, caller, cmd.RemoveAvatar())
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    set_position(response, position)
    return response


@router.post("/change-password/", response_model=PasswordChanged,
             responses=problem_responses(400, 401, 422),
             summary="Change the password (every other session must log in again)",
             description="Tokens of every other session of the user are refused from now on "
             "(their open WebSockets are closed); this session carries on with the new token "
             "pair in the answer.", openapi_extra=rule_doc(cmd.ChangePassword))
def change_password(body: ChangePasswordIn, request: Request, caller: CallerDep,
                    dispatcher: DispatcherDep, tokens: TokensDep, urls: UrlsDep,
                    response: Response) -> PasswordChanged:
    grant = dispatch(request, dispatcher, caller,
                     cmd.ChangePassword(body.old_password, body.new_password))
    pair = _tokens(tokens, urls, response, grant)
    return PasswordChanged(detail="password changed", access=pair.access,
                           refresh=pair.refresh)


@router.post("/password-reset/", status_code=status.HTTP_202_ACCEPTED, response_model=Detail,
             responses=problem_responses(422, 429),
             dependencies=[Depends(limit("reset_request", per="ip")),
                           Depends(limit("reset_email", per="email"))],
             summary="Mail a single-use password reset link",
             openapi_extra=rule_doc(cmd.RequestPasswordReset))
def password_reset(body: ResetIn, request: Request, dispatcher: DispatcherDep) -> Detail:
    dispatch(request, dispatcher, None, cmd.RequestPasswordReset(body.email))
    return Detail(detail="if an account exists for this email, a reset link has been sent")


@router.post("/password-reset/confirm/", response_model=Detail,
             responses=problem_responses(401, 422, 429),
             dependencies=[Depends(limit("reset_confirm", per="ip"))],
             summary="Choose a new password with the token from the reset mail",
             openapi_extra=rule_doc(cmd.ConfirmPasswordReset))
def password_reset_confirm(body: ResetConfirmIn, request: Request, dispatcher: DispatcherDep,
                           response: Response) -> Detail:
    position = dispatch(request, dispatcher, None,
                        cmd.ConfirmPasswordReset(body.token, body.new_password))
    set_position(response, position)
    return Detail(detail="password has been reset; log in with the new password")
