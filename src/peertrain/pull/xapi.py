"""Pulling statements from an xAPI Learning Record Store (xAPI 1.0.3).

``GET {endpoint}/statements`` with Basic auth and ``X-Experience-API-Version: 1.0.3``, oldest
first, ``since`` the source's cursor (the latest ``stored`` time already pulled), following
``more`` (a URL relative to the endpoint; absent or empty on the last page). Verbs are filtered
here, not by the LRS (some LRSs ignore or mishandle ``verb=``), and statements stored at or
before the cursor are dropped here too (some LRSs treat ``since`` as inclusive).

What each statement becomes:

- ``completed`` / ``passed``: a completed record; ``failed``: a failed record (kept, no credit);
  other verbs are skipped (counted, not stored); a statement whose ``object`` is a
  ``StatementRef`` with the verb ``voided`` withdraws that statement's record or held row.
- The learner: ``actor.mbox`` (an email), ``actor.account.name`` (a portal user id) or
  ``actor.mbox_sha1sum``, matched to the roster. The course: the activity id (an IRI, matched
  exactly to a catalogue alias), else the activity's name in any language (matched like a title).
- The date: ``timestamp`` (when it happened; ``stored`` if absent) as a calendar date in the
  agency's time zone. Hours: the source's ``hours_extension`` in ``result.extensions`` or
  ``context.extensions``, else the catalogue's.
- An unknown learner or activity holds the statement as unmatched; a statement without an id, a
  learner identifier or a readable time is rejected with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from peertrain.imports.exports.values import clean_email
from peertrain.ledger import Ledger, Record, RejectedRow
from peertrain.pull.http import HttpClient, PullError, safe_url
from peertrain.pull.safety import origin
from peertrain.pull.sources import COMPLETED, FAILED, PASSED, VOIDED, XapiSource
from peertrain.pull.sync import Collected, PullResult, Roster, Row, Who, find_course, held_row, store
from peertrain.rules.catalog import Catalogue

__all__ = ["XAPI_VERSION", "client_for", "fetch_statements", "pull_xapi"]

XAPI_VERSION = "1.0.3"
_STATUS = {COMPLETED: "completed", PASSED: "completed", FAILED: "failed"}
#: How much of a rejected statement is kept as its raw cell.
_RAW = 2000


def client_for(source: XapiSource) -> HttpClient:
    """An HTTP client for the LRS, with the source's credentials (read now) and policy."""
    password = source.password.value()
    return HttpClient(
        f"xapi source {source.name!r}", auth=(source.username, password),
        headers={"X-Experience-API-Version": XAPI_VERSION}, policy=source.policy, verify=source.verify_tls,
        secrets=[password], origin=source.endpoint,
    )


def _base(endpoint: str) -> str:
    return endpoint if endpoint.endswith("/") else endpoint + "/"


def fetch_statements(
    client: HttpClient, source: XapiSource, *, since: str | None, until: str | None,
    progress: Callable[[int], None] | None = None, pages: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every statement stored after ``since`` (and up to ``until``), page after page.

    ``pages``, when given, collects the URL of each page requested (for the caller's report).
    """
    params: dict[str, str] | None = {"limit": str(source.page_size), "ascending": "true"}
    if since:
        params["since"] = since  # type: ignore[index]
    if until:
        params["until"] = until  # type: ignore[index]
    url = urllib.parse.urljoin(_base(source.endpoint), "statements")
    seen_pages: set[str] = set()
    count = 0
    while True:
        page = client.get_json(url, params)
        if pages is not None:
            pages.append(url)
        statements = page.get("statements") if isinstance(page, dict) else None
        if not isinstance(statements, list):
            raise PullError(f"{client.label}: the answer to GET statements has no 'statements' list")
        yield from statements
        count += len(statements)
        if progress is not None:
            progress(count)
        more = page.get("more")
        if not more or not isinstance(more, str) or not statements:
            return
        # ``more`` is relative to the LRS (usually an absolute path): resolve it against the endpoint.
        url, params = urllib.parse.urljoin(_base(source.endpoint), more.strip()), None
        if origin(url) != origin(source.endpoint):
            # The credentials go with every request: never to a server the LRS merely names.
            raise PullError(client.redact(
                f"{client.label}: the LRS's 'more' link points to {safe_url(url)}, not to the endpoint's own "
                "origin (scheme, host, port): not followed, so that the credentials stay with the LRS; "
                "nothing of this pull was stored"
            ))
        if url in seen_pages:
            raise PullError(f"{client.label}: the LRS sent the same 'more' link twice; stopping")
        seen_pages.add(url)


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)  # xAPI: no offset means UTC


def cursor_text(when: dt.datetime) -> str:
    """A ``stored`` time as the cursor keeps it and ``since`` sends it: UTC ISO 8601 with microseconds."""
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _who(actor: Any) -> Who | str:
    if not isinstance(actor, dict):
        return "has no actor"
    if actor.get("objectType") == "Group":
        return "the actor is a group, not one learner"
    mbox = actor.get("mbox")
    email = clean_email(mbox.removeprefix("mailto:")) if isinstance(mbox, str) else None
    account = actor.get("account")
    portal = str(account.get("name")).strip() if isinstance(account, dict) and account.get("name") else None
    sha1 = actor.get("mbox_sha1sum") if isinstance(actor.get("mbox_sha1sum"), str) else None
    name = actor.get("name") if isinstance(actor.get("name"), str) else None
    if not (email or portal or sha1):
        return "the actor has no mbox, mbox_sha1sum or account"
    return Who(email=email, portal_user_id=portal, mbox_sha1=sha1, name=name)


def _names(activity: dict[str, Any]) -> list[str]:
    definition = activity.get("definition")
    names = definition.get("name") if isinstance(definition, dict) else None
    if not isinstance(names, dict):
        return []
    ordered = sorted(names.items(), key=lambda item: (not str(item[0]).startswith("en"), str(item[0])))
    return [str(text) for _, text in ordered if isinstance(text, str) and text.strip()]


def _hours(statement: dict[str, Any], extension: str | None) -> Decimal | str | None:
    if extension is None:
        return None
    for part in ("result", "context"):
        holder = statement.get(part)
        extensions = holder.get("extensions") if isinstance(holder, dict) else None
        if isinstance(extensions, dict) and extension in extensions:
            value = extensions[extension]
            try:
                hours = Decimal(str(value))
            except InvalidOperation:
                return f"{value!r} in the hours extension is not a number"
            if not hours.is_finite() or hours < 0 or hours >= 100_000_000:
                return f"{value!r} in the hours extension is not a number of hours"
            return hours
    return None


class _Classifier:
    def __init__(
        self, source: XapiSource, roster: Roster, catalogue: Catalogue, zone: str, redact: Callable[[str], str]
    ) -> None:
        self.source, self.roster, self.catalogue, self.redact = source, roster, catalogue, redact
        self.zone = zoneinfo.ZoneInfo(zone)
        self.file = source.key

    def __call__(self, statement: dict[str, Any], number: int) -> Row:
        sid = str(statement.get("id") or "").strip()
        file = f"{self.file} statement {sid or '?'}"

        def reject(field: str, reason: str) -> RejectedRow:
            # Redacted before it is cut and stored: a statement may echo the credentials.
            raw = self.redact(json.dumps(statement, ensure_ascii=False, sort_keys=True))[:_RAW]
            return RejectedRow(file, number, field, reason, (raw,))

        if not sid:
            return reject("id", "the statement has no id")
        who = _who(statement.get("actor"))
        if isinstance(who, str):
            return reject("actor", who)
        activity = statement.get("object")
        if not isinstance(activity, dict) or not isinstance(activity.get("id"), str):
            return reject("object", "the statement's object is not an activity with an id")
        when = _parse_time(statement.get("timestamp")) or _parse_time(statement.get("stored"))
        if when is None:
            return reject("timestamp", f"{statement.get('timestamp')!r} is not an ISO 8601 time")
        hours = _hours(statement, self.source.hours_extension)
        if isinstance(hours, str):
            return reject("result.extensions", hours)
        on = when.astimezone(self.zone).date()
        status = _STATUS[statement["verb"]["id"]]
        member = self.roster.match(who)
        activity_id, names = activity["id"].strip(), _names(activity)
        course = find_course(self.catalogue, [activity_id, *names])
        if member is not None and course is not None:
            return Record(
                member=member, course=course.id, on=on, status=status, hours=hours, delivery=None, provider=None,
                record_id=sid, origin=file,
            )
        return held_row(
            file=file, row=number, who=who, member=member, course_id=activity_id,
            course_title=names[0] if names else None, course=course, status=status, on=on, hours=hours,
            record_id=sid,
        )


def pull_xapi(
    ledger: Ledger, source: XapiSource, catalogue: Catalogue, *, until: dt.datetime | None = None,
    now: dt.datetime | None = None, progress: Callable[[int], None] | None = None,
    client: HttpClient | None = None,
) -> PullResult:
    """Pull the statements stored since the source's cursor into the ledger, as one batch."""
    since = ledger.cursor(source.key)
    since_time = _parse_time(since) if since else None
    collected = Collected(cursor=since)
    latest = since_time
    pages: list[str] = []
    http = client or client_for(source)
    try:
        classify = _Classifier(source, Roster(ledger.members()), catalogue, ledger.timezone(), http.redact)
        for statement in fetch_statements(
            http, source, since=since, until=cursor_text(until) if until else None, progress=progress, pages=pages
        ):
            collected.fetched += 1
            if not isinstance(statement, dict):
                raise PullError(f"{http.label}: the LRS sent a statement that is not a JSON object")
            stored = _parse_time(statement.get("stored"))
            if stored is not None and since_time is not None and stored <= since_time:
                collected.skipped += 1  # already pulled: this LRS's 'since' is inclusive
                continue
            if stored is not None and (latest is None or stored > latest):
                latest = stored
            verb = statement.get("verb")
            verb_id = verb.get("id") if isinstance(verb, dict) else None
            target = statement.get("object")
            if verb_id == VOIDED and isinstance(target, dict) and target.get("objectType") == "StatementRef":
                if isinstance(target.get("id"), str):
                    collected.voided.append(target["id"].strip())
                continue
            if verb_id not in _STATUS or verb_id not in source.verbs:
                collected.skipped += 1
                continue
            collected.rows.append(classify(statement, len(collected.rows) + 1))
    finally:
        if client is None:
            http.close()
    collected.requests = len(pages)
    if latest is not None and latest != since_time:
        collected.cursor = cursor_text(latest)
    return store(
        ledger, source=source.key, profile="xapi", collected=collected, cursor_before=since,
        file_name=f"{source.key} since {since}" if since else f"{source.key} from the start",
        when=now or dt.datetime.now(dt.UTC),
    )
