"""Auditors' summaries: proof of play per zone, track, announcement or client over a
range, with totals, as JSON, CSV or a printable HTML page (the same rows in each)."""

from __future__ import annotations

import csv
import hashlib
import io
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from application.authz import Principal, tenant_filter, visible_row
from application.queries import AccountReads, HistoryReads, ZoneReads
from application.rules import TENANT_READ
from domain.base import NotFound
from interfaces.http.deps import (
    AccountsDep,
    HistoryDep,
    PageDep,
    PrincipalDep,
    WaitForPosition,
    ZonesDep,
    paginated,
    rule_doc,
)
from interfaces.http.history import Since, Until
from interfaces.http.schemas import Page, problem_responses

router = APIRouter(tags=["audit"])

Group = Literal["zone", "track", "announcement", "client"]
ALL_ROWS = 5_000  # rows per query when CSV or HTML take every group


class SummaryRow(BaseModel):
    key: UUID = Field(description="the zone's, track's, announcement's or client's id")
    name: str | None = Field(None, description="its name or title (null: gone since, or "
                             "another client's)")
    artist: str | None = Field(None, description="tracks: the artist")
    client_id: UUID | None = Field(None, description="zones: their client")
    plays: int
    seconds: float = Field(description="seconds heard, summed (so far, for a play still on)")


class Totals(BaseModel):
    plays: int
    seconds: float


class Summary(Page[SummaryRow]):
    group: Group
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    totals: Totals = Field(description="over every row, not only this page")


@router.get(
    "/api/reports/summary/", response_model=Summary, response_model_by_alias=True,
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}, **problem_responses(404)},
    summary="Proof of play summed per zone, track, announcement or client",
    description="Plays that started in [from, to] grouped by `group`, most heard first, "
    "each with its number of plays and seconds heard, and the totals. A client's users see "
    "their own client; staff and admins every client, or one with `client_id`. `format=csv` "
    "returns every row and a last `total` row; `format=html` a printable page of the same.",
    openapi_extra=rule_doc(TENANT_READ))
def summary(request: Request, principal: PrincipalDep, history: HistoryDep, zones: ZonesDep,
            accounts: AccountsDep, page: PageDep,
            group: Group = "zone", zone_id: Annotated[UUID | None, Query()] = None,
            client_id: Annotated[UUID | None, Query()] = None, since: Since = None,
            until: Until = None, format: Literal["json", "csv", "html"] = "json",  # noqa: A002
            wait: WaitForPosition = None) -> Any:
    reads = Reads(history.at(wait), zones.view, accounts.view)
    scope = _client_scope(principal, client_id)
    if zone_id is not None:
        zone = visible_row(principal, reads.zones.get_zone(zone_id), "zone", zone_id)
        if scope is not None and zone["client_id"] != scope:
            raise NotFound(f"zone {zone_id} not found")
    query: dict[str, Any] = {"group": group, "client_id": scope, "zone_id": zone_id,
                             "since": since, "until": until}
    if format != "json":
        rows, totals = _every_row(reads, query)
        if format == "csv":
            return _csv(group, rows, totals)
        return _html(reads, scope, query, rows, totals)
    result, sums = reads.history.summarize_plays(
        **query, offset=page.offset, limit=page.page_size)
    body = paginated(request, page, result.count, _named(reads, group, result.rows))
    return {**body, "group": group, "from": since, "to": until, "totals": _totals(sums)}


def _client_scope(principal: Principal, client_id: UUID | None) -> UUID | None:
    """The client the report is about: the caller's own (another's is absent), or for
    staff and admins the one asked for (None: every client)."""
    own = tenant_filter(principal)
    if own is None:
        return client_id
    if client_id is not None and client_id != own:
        raise NotFound(f"client {client_id} not found")
    return own


@dataclass(frozen=True)
class Reads:
    """The read models a summary reads: plays, and today's names of zones and clients."""

    history: HistoryReads
    zones: ZoneReads
    accounts: AccountReads


def _every_row(reads: Reads, query: dict[str, Any]) -> tuple[list[SummaryRow], Totals]:
    rows: list[SummaryRow] = []
    while True:
        result, totals = reads.history.summarize_plays(
            **query, offset=len(rows), limit=ALL_ROWS)
        rows += _named(reads, query["group"], result.rows)
        if len(result.rows) < ALL_ROWS:
            return rows, _totals(totals)


def _totals(row: dict[str, Any]) -> Totals:
    return Totals(plays=int(row["plays"]), seconds=float(row["seconds"]))


def _named(reads: Reads, group: str, rows: list[dict[str, Any]]) -> list[SummaryRow]:
    """Rows with the names of today's read models (plays keep titles, not zone or
    client names)."""
    out = []
    for r in rows:
        name = r.get("title")
        if group == "zone":
            zone = reads.zones.get_zone(r["key"])
            name = zone["name"] if zone else None
        elif group == "client":
            client = reads.accounts.get_client(r["key"])
            name = client["name"] if client else None
        out.append(SummaryRow(key=r["key"], name=name, artist=r.get("artist"),
                              client_id=r.get("client_id"), plays=int(r["plays"]),
                              seconds=float(r["seconds"])))
    return out


def _csv(group: str, rows: list[SummaryRow], totals: Totals) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["group", *SummaryRow.model_fields])
    writer.writeheader()
    for row in rows:
        writer.writerow({"group": group, **row.model_dump(mode="json")})
    writer.writerow({"group": "total", "plays": totals.plays, "seconds": totals.seconds})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(buffer.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="summary-{group}-{stamp}.csv"'})


STYLE = ("body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}"
         "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;"
         "padding:4px 8px;text-align:left}td.n,th.n{text-align:right}"
         "tfoot td{font-weight:bold;border-top:2px solid #111}.muted{color:#555}")
# The page runs no script and loads nothing: its one inline style is allowed by hash.
REPORT_CSP = ("default-src 'none'; style-src 'sha256-"
              + b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def _html(reads: Reads, scope: UUID | None, query: dict[str, Any],
          rows: list[SummaryRow], totals: Totals) -> HTMLResponse:
    client = reads.accounts.get_client(scope) if scope else None
    who = client["name"] if client else "every client"
    since, until = query["since"], query["until"]
    span = (f"{since.isoformat() if since else 'the beginning'} to "
            f"{until.isoformat() if until else 'now'}")
    cells = "".join(
        f"<tr><td>{escape(r.name or str(r.key))}</td><td>{escape(r.artist or '')}</td>"
        f"<td class=n>{r.plays}</td><td class=n>{r.seconds:.3f}</td></tr>" for r in rows)
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>Proof of play: {escape(who)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Proof of play per {query['group']}</h1><p>{escape(who)}<br>"
            f"Plays started from {escape(span)}<br><span class=muted>Generated at "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}</span></p><table><thead><tr>"
            f"<th>{query['group'].capitalize()}</th><th>Artist</th><th class=n>Plays</th>"
            f"<th class=n>Seconds</th></tr></thead><tbody>{cells}</tbody><tfoot><tr>"
            f"<td>Total</td><td></td><td class=n>{totals.plays}</td>"
            f"<td class=n>{totals.seconds:.3f}</td></tr></tfoot></table></body></html>")
    return HTMLResponse(page, headers={
        "Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})
