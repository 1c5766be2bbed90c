"""The User aggregate: a person who logs in, with a role and maybe a client."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from domain.accounts import AccountDisabled, InvalidToken, Role, valid_timezone
from domain.base import EnumAttribute, TracedAggregate


class User(TracedAggregate):
    # 2: the avatar (`avatar_key`, `avatar_thumbnail_key`)
    class_version = 2
    role = EnumAttribute(Role)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.update(avatar_key=None, avatar_thumbnail_key=None)  # no avatar before

    class Registered(TracedAggregate.Created):
        email: str
        name: str
        client_id: UUID | None
        role: str
        phone: str
        timezone: str
        password_hash: str

    @event(Registered)
    def __init__(
        self,
        email: str,
        name: str,
        client_id: UUID | None,
        role: str,
        phone: str,
        timezone: str,
        password_hash: str,
    ) -> None:
        self.email = email
        self.name = name
        self.client_id = client_id
        self.role = Role(role)
        self.phone = phone
        self.timezone = timezone
        self.password_hash = password_hash
        self.is_active = True
        # Bumped whenever the password changes: refresh tokens minted under an
        # older value stop working, so a reset logs out every other session.
        self.credentials_version = 1
        self.reset_token_hash: str | None = None
        self.reset_expires_at: datetime | None = None
        self.last_login: datetime | None = None
        self.avatar_key: str | None = None
        self.avatar_thumbnail_key: str | None = None

    @classmethod
    def register(
        cls,
        *,
        email: str,
        name: str,
        password_hash: str,
        client_id: UUID | None,
        role: Role = Role.CLIENT,
        phone: str = "",
        timezone: str = "UTC",
        id: UUID | None = None,  # noqa: A002
    ) -> User:
        """Register a user; `id` may be chosen up front so that the events of the
        command that creates the user can already name the user as their actor."""
        if Role(role) is Role.CLIENT and client_id is None:
            raise AccountDisabled("a client user needs a client")
        user: User = cls._create(
            cls.Registered,
            id=id or uuid4(),
            email=email,
            name=name.strip(),
            client_id=client_id,
            role=Role(role).value,
            phone=phone,
            timezone=valid_timezone(timezone),
            password_hash=password_hash,
        )
        return user

    class ProfileUpdated(TracedAggregate.Event):
        name: str
        phone: str
        timezone: str

    def update_profile(
        self, *, name: str | None = None, phone: str | None = None, timezone: str | None = None
    ) -> None:
        new = (
            self.name if name is None else name.strip(),
            self.phone if phone is None else phone,
            self.timezone if timezone is None else valid_timezone(timezone),
        )
        if new != (self.name, self.phone, self.timezone):
            self._profile_updated(name=new[0], phone=new[1], timezone=new[2])

    @event(ProfileUpdated)
    def _profile_updated(self, name: str, phone: str, timezone: str) -> None:
        self.name, self.phone, self.timezone = name, phone, timezone

    class LoggedIn(TracedAggregate.Event):
        at: datetime

    def record_login(self, at: datetime) -> None:
        if not self.is_active:
            raise AccountDisabled("this account is deactivated")
        self._logged_in(at=at)

    @event(LoggedIn)
    def _logged_in(self, at: datetime) -> None:
        self.last_login = at

    class PasswordChanged(TracedAggregate.Event):
        password_hash: str

    def change_password(self, password_hash: str) -> None:
        self._password_changed(password_hash=password_hash)

    @event(PasswordChanged)
    def _password_changed(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self.credentials_version += 1
        self.reset_token_hash = self.reset_expires_at = None

    class PasswordResetRequested(TracedAggregate.Event):
        token_hash: str
        expires_at: datetime

    def request_password_reset(self, token_hash: str, expires_at: datetime) -> None:
        """Only the newest reset token works: requesting again replaces it."""
        self._password_reset_requested(token_hash=token_hash, expires_at=expires_at)

    @event(PasswordResetRequested)
    def _password_reset_requested(self, token_hash: str, expires_at: datetime) -> None:
        self.reset_token_hash, self.reset_expires_at = token_hash, expires_at

    def reset_password(self, token_hash: str, password_hash: str, now: datetime) -> None:
        """Use a reset token once: the new password clears the token."""
        if (
            self.reset_token_hash is None
            or self.reset_expires_at is None
            or token_hash != self.reset_token_hash
            or now >= self.reset_expires_at
        ):
            raise InvalidToken("this password reset link is invalid, used or expired")
        self.change_password(password_hash)

    class RoleChanged(TracedAggregate.Event):
        role: str

    def change_role(self, role: Role) -> None:
        if Role(role) is not self.role:
            if Role(role) is Role.CLIENT and self.client_id is None:
                raise AccountDisabled("a client user needs a client")
            self._role_changed(role=Role(role).value)

    @event(RoleChanged)
    def _role_changed(self, role: str) -> None:
        self.role = Role(role)

    class ActiveChanged(TracedAggregate.Event):
        is_active: bool

    def set_active(self, is_active: bool) -> None:
        if is_active != self.is_active:
            self._active_changed(is_active=is_active)

    @event(ActiveChanged)
    def _active_changed(self, is_active: bool) -> None:
        self.is_active = is_active

    class AvatarSet(TracedAggregate.Event):
        avatar_key: str
        thumbnail_key: str

    def set_avatar(self, avatar_key: str, thumbnail_key: str) -> None:
        self._avatar_set(avatar_key=avatar_key, thumbnail_key=thumbnail_key)

    @event(AvatarSet)
    def _avatar_set(self, avatar_key: str, thumbnail_key: str) -> None:
        self.avatar_key, self.avatar_thumbnail_key = avatar_key, thumbnail_key

    class AvatarRemoved(TracedAggregate.Event):
        pass

    def remove_avatar(self) -> bool:
        """Forget the avatar; False when there was none (nothing recorded)."""
        if self.avatar_key is None:
            return False
        self._avatar_removed()
        return True

    @event(AvatarRemoved)
    def _avatar_removed(self) -> None:
        self.avatar_key = self.avatar_thumbnail_key = None
