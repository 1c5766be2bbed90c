"""The authorization rules, caller by caller (no I/O): who is granted, with which
scope, and how the others are refused (401, 403, or 404 for another client)."""

from __future__ import annotations

import uuid

import pytest

from application.authz import (
    Caller,
    DevicePrincipal,
    Operator,
    PermissionDenied,
    Principal,
    Unauthenticated,
)
from application.rules import RULES, Target
from domain.accounts import Role
from domain.base import DomainError, NotFound

CLIENT, OTHER = uuid.uuid4(), uuid.uuid4()
ZONE, OTHER_ZONE, DEVICE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
CALLERS: dict[str, Caller] = {
    "anonymous": None,
    "owner": Principal(uuid.uuid4(), Role.CLIENT, CLIENT, uuid.uuid4()),
    "other": Principal(uuid.uuid4(), Role.CLIENT, OTHER, uuid.uuid4()),
    "staff": Principal(uuid.uuid4(), Role.STAFF, None, uuid.uuid4()),
    "admin": Principal(uuid.uuid4(), Role.ADMIN, None, uuid.uuid4()),
    "device": DevicePrincipal(DEVICE, ZONE, CLIENT),
    "other_device": DevicePrincipal(uuid.uuid4(), OTHER_ZONE, CLIENT),
    "operator": Operator("cli"),
}
OK, E401, E403, E404 = "ok", Unauthenticated, PermissionDenied, NotFound
# rule -> target -> answers for: anonymous, owner, other, staff, admin, device, other_device,
# operator
TABLE = {
    "public": (None, (OK, OK, OK, OK, OK, OK, OK, OK)),
    "signed-in": (None, (E401, OK, OK, OK, OK, E403, E403, E403)),
    "client-member": (None, (E401, OK, OK, E403, E403, E403, E403, E403)),
    "tenant-write": (Target("zone", ZONE), (E401, OK, E404, E403, OK, E403, E403, OK)),
    "zone-control": (Target("zone", ZONE), (E401, OK, E404, E403, OK, OK, E403, OK)),
    "device-presence": (Target("device", DEVICE), (E401, OK, E404, E403, OK, OK, E403, OK)),
    "tenant-read": (Target("zone", ZONE), (E401, OK, E404, OK, OK, E403, E403, OK)),
    "zone-follow": (Target("zone", ZONE), (E401, OK, E404, OK, OK, OK, E403, OK)),
    "staff-read": (None, (E401, E403, E403, OK, OK, E403, E403, OK)),
    "admin": (None, (E401, E403, E403, E403, OK, E403, E403, OK)),
    "system": (None, (E401, E403, E403, E403, E403, E403, E403, OK)),
}


def test_every_rule_is_in_the_table() -> None:
    assert set(TABLE) == set(RULES)


@pytest.mark.parametrize("rule", sorted(TABLE))
def test_each_rule_grants_or_refuses_each_caller(rule: str) -> None:
    target, answers = TABLE[rule]
    owner = CLIENT if target is not None else None
    for (who, caller), answer in zip(CALLERS.items(), answers, strict=True):
        if answer == OK:
            grant = RULES[rule].grant(caller, target, owner)
            assert grant.caller == caller, (rule, who)
        else:
            with pytest.raises(DomainError) as refused:
                RULES[rule].grant(caller, target, owner)
            assert type(refused.value) is answer, (rule, who, refused.value)


def test_a_client_user_acts_within_their_client_and_an_admin_anywhere() -> None:
    writer = RULES["tenant-write"]
    assert writer.grant(CALLERS["owner"], Target("zone", ZONE), CLIENT).scope == CLIENT
    assert writer.grant(CALLERS["admin"], Target("zone", ZONE), CLIENT).scope is None
    member = RULES["client-member"].grant(CALLERS["other"], None, None)
    assert (member.owner, member.scope) == (OTHER, OTHER)
