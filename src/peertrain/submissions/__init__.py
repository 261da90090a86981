"""Training taken elsewhere: self-reported submissions with evidence files, reviewed before they count.

A member (or the coordinator for them) *submits* training no portal reports, with its certificate
(:func:`submit`). The submission is pending and counts for nothing. A reviewer who is neither the
submitter nor the member *approves* it (:func:`approve`): a completed record appears in the ledger,
in a batch of its own (source ``self-reported``), with the origin
``self-reported:<id>; approved by <reviewer> on <time>; evidence <file> sha256:<hash>``, so every
check, report and explanation over the ledger sees it like any record. A pending submission can be
*rejected* with a reason (:func:`reject`); an approval can be *revoked* with a reason
(:func:`revoke`), which removes the record and retracts its batch in the same transaction. Every
step is an event with who, when and the note; nothing is deleted. See ``docs/submissions.md``.

The "who" is free text (a name); two names are the same person when they are equal ignoring case
and spacing. Times must be time-zone aware. The library reads no clock: callers pass ``at``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import zoneinfo
from decimal import Decimal

from peertrain._files import write_bytes
from peertrain._types import StrPath
from peertrain.errors import InputError
from peertrain.ledger import Ledger
from peertrain.ledger._schema import _now_text
from peertrain.rules.catalog import Catalogue, normalise_name
from peertrain.rules.model import Delivery, find_control_character, to_hours
from peertrain.submissions import _store
from peertrain.submissions.evidence import MAX_BYTES, Evidence, read_evidence
from peertrain.submissions.model import Action, ReviewEvent, State, Submission, SubmissionError

__all__ = [
    "MAX_BYTES",
    "Action",
    "Evidence",
    "ReviewEvent",
    "State",
    "Submission",
    "SubmissionError",
    "approve",
    "default_reviewer",
    "evidence_bytes",
    "get_submission",
    "list_submissions",
    "read_evidence",
    "reject",
    "revoke",
    "submit",
    "write_evidence",
]

#: The longest name (``by``) and note kept.
MAX_NAME, MAX_NOTE = 200, 2000


def default_reviewer() -> str:
    """Who acts when no name is given: the login user name (:func:`getpass.getuser`)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in the environment or passwd
        raise SubmissionError("cannot tell who you are; give your name with --by") from None


def _text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise SubmissionError(f"{what} must not be blank")
    if find_control_character(text):
        raise SubmissionError(f"{what} must not contain line breaks, tabs or other control characters")
    if len(text) > limit:
        raise SubmissionError(f"{what} is longer than {limit} characters")
    return text


def _same(a: str, b: str) -> bool:
    return normalise_name(a) == normalise_name(b)


def submit(
    ledger: Ledger, *, member: str, course: str, on: dt.date, evidence: Evidence | StrPath, catalogue: Catalogue,
    by: str, at: dt.datetime, hours: Decimal | int | str | None = None, delivery: Delivery | str | None = None,
    provider: str | None = None,
) -> Submission:
    """Store a pending submission with its evidence file (read and checked first when a path is
    given: :func:`~peertrain.submissions.evidence.read_evidence`); nothing is stored when any
    check fails. ``course`` is a catalogue id, title or alias."""
    by = _text(by, "the submitter's name (--by)", MAX_NAME)
    roster = {m.id for m in ledger.members()}
    if member not in roster:
        raise InputError("--member", f"{member!r} is not on the ledger's roster")
    found = catalogue.find(course)
    if found is None:
        raise InputError("--course", f"{course!r} is not a course in the catalogue (use its id, title or alias)")
    today = at.astimezone(zoneinfo.ZoneInfo(ledger.timezone())).date()
    if on > today:
        raise InputError("--date", f"{on.isoformat()} is after today ({today.isoformat()}); submit training once taken")
    try:
        credited = None if hours is None else to_hours(hours)
        mode = None if delivery is None else Delivery(delivery)
    except (TypeError, ValueError) as exc:
        raise InputError("--hours" if hours is not None else "--delivery", str(exc)) from None
    if mode is Delivery.BLENDED:
        raise InputError("--delivery", "give in_person or online")
    provider = None if provider is None or not provider.strip() else _text(provider, "--provider", MAX_NAME)
    _now_text(at)  # refuses a naive time before anything is read or stored
    file = evidence if isinstance(evidence, Evidence) else read_evidence(evidence)
    store = _store.Store(ledger)
    with store.writing():
        record_id = f"{member}/{found.id}/{on.isoformat()}"
        batch = store.record_batch(record_id)
        if batch is not None:
            raise SubmissionError(f"the ledger already holds {record_id} (batch {batch}); nothing to submit")
        for other in store.open_for(member, found.id, on):
            if other.state in (State.PENDING, State.APPROVED):
                raise SubmissionError(f"submission {other.id} for {record_id} is already {other.state.value}")
        submission_id = store.insert_submission(
            member=member, course=found.id, on=on, hours=credited, delivery=mode, provider=provider,
            evidence=file, by=by, at=at,
        )
    return get_submission(ledger, submission_id)


def _reviewer(ledger: Ledger, submission: Submission, by: str) -> str:
    by = _text(by, "the reviewer's name (--by)", MAX_NAME)
    if _same(by, submission.submitted_by):
        raise SubmissionError(
            f"submission {submission.id} was submitted by {submission.submitted_by}; nobody may approve their own "
            "submission: another reviewer must"
        )
    member = next((m for m in ledger.members() if m.id == submission.member), None)
    if _same(by, submission.member) or (member is not None and _same(by, member.name)):
        raise SubmissionError(
            f"submission {submission.id} is {submission.member}'s own training; another reviewer must approve it"
        )
    return by


def approve(ledger: Ledger, submission_id: int, *, by: str, at: dt.datetime, note: str | None = None) -> Submission:
    """Approve a pending submission: its completed record enters the ledger in a batch of its own."""
    note = None if note is None or not note.strip() else _text(note, "the note", MAX_NOTE)
    store = _store.Store(ledger)
    with store.writing():
        submission = store.load(submission_id)
        by = _reviewer(ledger, submission, by)
        if submission.state is not State.PENDING:
            raise SubmissionError(
                f"submission {submission_id} is {submission.state.value}; only a pending one can be approved"
            )
        batch = store.record_batch(submission.record_id)
        if batch is not None:
            raise SubmissionError(
                f"the ledger already holds {submission.record_id} (batch {batch}); reject submission {submission_id} "
                "as a duplicate"
            )
        origin = (
            f"self-reported:{submission.id}; approved by {by} on {_now_text(at)}; evidence {submission.evidence_name} "
            f"sha256:{submission.evidence_sha256}"
        )
        batch = store.add_record(submission, origin, at)
        store.add_event(submission_id, Action.APPROVED, by, at, note=note, batch=batch)
    return get_submission(ledger, submission_id)


def reject(ledger: Ledger, submission_id: int, *, by: str, at: dt.datetime, note: str) -> Submission:
    """Reject a pending submission, with the reason (``note``); it stays in the ledger."""
    return _close(ledger, submission_id, Action.REJECTED, by=by, at=at, note=note)


def revoke(ledger: Ledger, submission_id: int, *, by: str, at: dt.datetime, note: str) -> Submission:
    """Revoke an approval, with the reason: its record leaves the ledger and its batch is retracted."""
    return _close(ledger, submission_id, Action.REVOKED, by=by, at=at, note=note)


def _close(ledger: Ledger, submission_id: int, action: Action, *, by: str, at: dt.datetime, note: str) -> Submission:
    by = _text(by, "the reviewer's name (--by)", MAX_NAME)
    verb = "reject" if action is Action.REJECTED else "revoke"
    note = _text(note or "", f"the reason to {verb} (--note)", MAX_NOTE)
    wanted = State.PENDING if action is Action.REJECTED else State.APPROVED
    article = "an" if wanted is State.APPROVED else "a"
    store = _store.Store(ledger)
    with store.writing():
        submission = store.load(submission_id)
        if submission.state is not wanted:
            raise SubmissionError(
                f"submission {submission_id} is {submission.state.value}; only {article} {wanted.value} one can be "
                f"{action.value}"
            )
        batch = None
        if action is Action.REVOKED:
            approval = submission.approval
            batch = approval.batch if approval is not None else None
            if batch is not None:
                store.remove_record(submission, batch, at)
        store.add_event(submission_id, action, by, at, note=note, batch=batch)
    return get_submission(ledger, submission_id)


def get_submission(ledger: Ledger, submission_id: int) -> Submission:
    """One submission with its review steps."""
    store = _store.Store(ledger)
    with store.reading():
        return store.load(submission_id)


def list_submissions(ledger: Ledger, state: State | None = None) -> list[Submission]:
    """Every submission (or those in ``state``), oldest first: on a consortium's PostgreSQL ledger,
    those of the agencies the connected role sees."""
    store = _store.Store(ledger)
    with store.reading():
        return [s for s in store.load_all() if state is None or s.state is state]


def evidence_bytes(ledger: Ledger, submission_id: int) -> tuple[Submission, bytes]:
    """A submission and its stored evidence file, whose SHA-256 and size are checked."""
    store = _store.Store(ledger)
    with store.reading():
        submission = store.load(submission_id)
        content = store.evidence_content(submission.evidence_sha256)
    if hashlib.sha256(content).hexdigest() != submission.evidence_sha256 or len(content) != submission.size:
        raise SubmissionError(
            f"the stored evidence of submission {submission_id} no longer matches its SHA-256; the ledger was altered"
        )
    return submission, content


def write_evidence(ledger: Ledger, submission_id: int, path: StrPath) -> Submission:
    """Write a submission's stored evidence file to ``path`` (0600, atomically), its hash checked."""
    submission, content = evidence_bytes(ledger, submission_id)
    write_bytes(os.fspath(path), content)
    return submission
