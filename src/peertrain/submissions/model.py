"""Submissions of self-reported training and their review steps, as frozen values."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from attrs import frozen

from peertrain.errors import PeertrainError
from peertrain.rules.model import Delivery

__all__ = ["Action", "ReviewEvent", "State", "Submission", "SubmissionError"]


class SubmissionError(PeertrainError):
    """A submission or review step that cannot be done (self-approval, wrong state, duplicate, ...)."""


class Action(enum.StrEnum):
    """One review step; every submission starts with ``submitted``."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class State(enum.StrEnum):
    """Where a submission stands: the outcome of its latest step. Only ``approved`` counts."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


_STATE = {
    Action.SUBMITTED: State.PENDING, Action.APPROVED: State.APPROVED, Action.REJECTED: State.REJECTED,
    Action.REVOKED: State.REVOKED,
}


@frozen
class ReviewEvent:
    """One step: what, by whom (free text), when (UTC), with what note; ``batch`` is the ledger
    batch an approval created (and a revocation retracted)."""

    action: Action
    by: str
    at: dt.datetime
    note: str | None = None
    batch: int | None = None


@frozen
class Submission:
    """Training a member took elsewhere, as submitted with its evidence file, and its review.

    ``hours``, ``delivery`` and ``provider`` are ``None`` when not given (the catalogue's then
    count, as for any record).
    """

    id: int
    member: str
    course: str
    on: dt.date
    hours: Decimal | None
    delivery: Delivery | None
    provider: str | None
    evidence_name: str
    evidence_sha256: str
    media_type: str
    size: int
    submitted_by: str
    submitted_at: dt.datetime
    events: tuple[ReviewEvent, ...] = ()

    @property
    def state(self) -> State:
        """The outcome of the latest step."""
        return _STATE[self.events[-1].action] if self.events else State.PENDING

    @property
    def record_id(self) -> str:
        """The id of the completed record an approval makes: ``member/course/date``."""
        return f"{self.member}/{self.course}/{self.on.isoformat()}"

    @property
    def approval(self) -> ReviewEvent | None:
        """The approving step while the submission is approved."""
        return self.events[-1] if self.state is State.APPROVED else None
