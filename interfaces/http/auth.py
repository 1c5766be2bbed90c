"""`/api/auth/`: sign-up, login, token refresh and logout, profile, passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, EmailStr, Field, StringConstraints

from domain.accounts import InvalidToken
from domain.base import NotFound
from interfaces.http.deps import (
    AnonymousCtx,
    ContainerDep,
    PrincipalDep,
    UserCtx,
    WaitForPosition,
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


class ResetIn(BaseModel):
    email: EmailStr


class ResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=512)
    new_password: Password


@router.post("/signup/", status_code=status.HTTP_201_CREATED, response_model=TokenPair,
             responses=problem_responses(409, 422, 429),
             dependencies=[Depends(limit("signup", per="ip"))],
             summary="Register a business (client) and its first user")
def signup(body: SignupIn, container: ContainerDep, ctx: AnonymousCtx,
           response: Response) -> TokenPair:
    grant = container.accounts.signup(
        ctx, email=body.email, password=body.password, name=body.name,
        client_name=body.client_name, phone=body.phone, timezone=body.timezone,
    )
    set_position(response, grant.position)
    tokens = container.tokens.pair(grant.user, grant.session_id, grant.token_id)
    return TokenPair(**tokens, user=UserOut.of(grant.user))


@router.post("/login/", response_model=TokenPair, responses=problem_responses(401, 403, 429),
             dependencies=[Depends(limit("login_ip", per="ip")),
                           Depends(limit("login", per="ip+email"))],
             summary="Log in with email and password")
def login(body: LoginIn, container: ContainerDep, ctx: AnonymousCtx,
          response: Response) -> TokenPair:
    grant = container.accounts.login(ctx, email=body.email, password=body.password)
    set_position(response, grant.position)
    tokens = container.tokens.pair(grant.user, grant.session_id, grant.token_id)
    return TokenPair(**tokens, user=UserOut.of(grant.user))


@router.post("/refresh/", response_model=TokenPair, responses=problem_responses(401, 403, 429),
             dependencies=[Depends(limit("refresh", per="ip"))],
             summary="Swap a refresh token for a new pair (the old one stops working)")
def refresh(body: RefreshIn, container: ContainerDep, ctx: AnonymousCtx,
            response: Response) -> TokenPair:
    claims = container.tokens.refresh(body.refresh)
    grant = container.accounts.refresh(
        ctx, session_id=claims.session_id, token_id=claims.token_id,
        credentials_version=claims.credentials_version,
    )
    set_position(response, grant.position)
    tokens = container.tokens.pair(grant.user, grant.session_id, grant.token_id)
    return TokenPair(**tokens, user=UserOut.of(grant.user))


@router.post("/logout/", response_model=Detail, responses=problem_responses(401),
             summary="Revoke a refresh token (and its whole rotation family)")
def logout(body: RefreshIn, principal: PrincipalDep, container: ContainerDep, ctx: UserCtx,
           response: Response) -> Detail:
    claims = container.tokens.refresh(body.refresh)
    if claims.user_id != principal.user_id:
        raise InvalidToken("this refresh token belongs to another user")
    position = container.accounts.logout(
        ctx, user_id=principal.user_id, session_id=claims.session_id
    )
    set_position(response, position)
    return Detail(detail="logged out")


@router.get("/me/", response_model=UserRow, responses=problem_responses(401, 404, 504),
            summary="The current user, from the users read model")
def me(principal: PrincipalDep, container: ContainerDep, wait: WaitForPosition = None) -> UserRow:
    container.wait_for_accounts(wait)
    row = container.accounts_view.get_user(principal.user_id)
    if row is None:
        # Not projected yet (a brand-new account): wait for the current head once.
        container.wait_for_accounts(container.accounts.recorder.max_notification_id())
        row = container.accounts_view.get_user(principal.user_id)
    if row is None:
        raise NotFound("user not found")
    return UserRow(**row)


@router.patch("/me/", response_model=UserOut, responses=problem_responses(401, 422),
              summary="Update the current user's name, phone or timezone")
def update_me(body: ProfileIn, principal: PrincipalDep, container: ContainerDep, ctx: UserCtx,
              response: Response) -> UserOut:
    user, position = container.accounts.update_profile(
        ctx, principal.user_id, **body.model_dump(exclude_unset=True, exclude_none=True)
    )
    set_position(response, position)
    return UserOut.of(user)


@router.post("/change-password/", response_model=Detail, responses=problem_responses(400, 401, 422),
             summary="Change the password (other sessions must log in again)")
def change_password(body: ChangePasswordIn, principal: PrincipalDep, container: ContainerDep,
                    ctx: UserCtx, response: Response) -> Detail:
    position = container.accounts.change_password(
        ctx, principal.user_id, old_password=body.old_password, new_password=body.new_password
    )
    set_position(response, position)
    return Detail(detail="password changed")


@router.post("/password-reset/", status_code=status.HTTP_202_ACCEPTED, response_model=Detail,
             responses=problem_responses(422, 429),
             dependencies=[Depends(limit("reset_request", per="ip")),
                           Depends(limit("reset_email", per="email"))],
             summary="Mail a single-use password reset link")
def password_reset(body: ResetIn, container: ContainerDep, ctx: AnonymousCtx) -> Detail:
    container.accounts.request_password_reset(ctx, body.email)
    return Detail(detail="if an account exists for this email, a reset link has been sent")


@router.post("/password-reset/confirm/", response_model=Detail,
             responses=problem_responses(401, 422, 429),
             dependencies=[Depends(limit("reset_confirm", per="ip"))],
             summary="Choose a new password with the token from the reset mail")
def password_reset_confirm(body: ResetConfirmIn, container: ContainerDep, ctx: AnonymousCtx,
                           response: Response) -> Detail:
    position = container.accounts.confirm_password_reset(
        ctx, token=body.token, new_password=body.new_password
    )
    set_position(response, position)
    return Detail(detail="password has been reset; log in with the new password")
