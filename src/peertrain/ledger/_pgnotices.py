"""The PostgreSQL ledger's ``notices`` table, for :mod:`peertrain.ledger.postgres`: the same rules as
the SQLite ledger's :mod:`peertrain.ledger._notices` (an attempt committed before the message goes
to the mail server; one conditional upsert decides whether a notice may be attempted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import psycopg

from peertrain.ledger import NoticeDraft, NoticeRow, NoticeState
from peertrain.ledger._pgtables import stamp

_COLUMNS = (
    "id, key, kind, agency, member_id, requirement, deadline, stage, recipient, subject, message_id, "
    "state, attempts, attempted_at, finished_at, detail"
)


def _row(r: Any) -> NoticeRow:
    draft = NoticeDraft(
        key=r[1], kind=r[2], agency=r[3], member=r[4], requirement=r[5], deadline=r[6],
        stage=r[7], recipient=r[8], subject=r[9], message_id=r[10],
    )
    return NoticeRow(
        id=int(r[0]), draft=draft, state=NoticeState(r[11]), attempts=r[12],
        attempted_at=r[13].astimezone(dt.UTC), finished_at=r[14].astimezone(dt.UTC) if r[14] else None,
        detail=r[15],
    )


class _PgNotices:
    """The notices of a ledger (see :class:`~peertrain.ledger.postgres.PostgresLedger`)."""

    _db: psycopg.Connection[Any]

    def notice_states(self) -> dict[str, NoticeState]:
        """The state of every recorded notice, by key."""
        rows = self._db.execute("SELECT key, state FROM notices").fetchall()
        return {key: NoticeState(state) for key, state in rows}

    def notices(self, states: Iterable[NoticeState] | None = None) -> list[NoticeRow]:
        """Recorded notices (of the given states), oldest attempt first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM notices ORDER BY attempted_at, id").fetchall()
        wanted = None if states is None else {NoticeState(s).value for s in states}
        return [_row(r) for r in rows if wanted is None or r[11] in wanted]

    def begin_notice(
        self, draft: NoticeDraft, message: bytes, when: dt.datetime, *, again: bool = False
    ) -> int | None:
        """Record an attempt (``pending``) before the message goes to the server; ``None`` when the
        notice may not be attempted (already sent, pending or refused, unless ``again``)."""
        allowed = [NoticeState.DEFERRED.value]
        if again:
            allowed += [NoticeState.PENDING.value, NoticeState.REFUSED.value]
        with self._db.transaction():
            row = self._db.execute(
                "INSERT INTO notices (key, kind, agency, member_id, requirement, deadline, stage, recipient, "
                "subject, message_id, message, state, attempts, attempted_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', 1, %s) "
                "ON CONFLICT (key) DO UPDATE SET subject = excluded.subject, message_id = excluded.message_id, "
                "message = excluded.message, state = 'pending', attempts = notices.attempts + 1, "
                "attempted_at = excluded.attempted_at, finished_at = NULL, detail = NULL "
                "WHERE notices.state = ANY(%s) RETURNING id",
                (
                    draft.key, draft.kind, draft.agency, draft.member, draft.requirement, draft.deadline,
                    draft.stage, draft.recipient, draft.subject, draft.message_id, message, stamp(when), allowed,
                ),
            ).fetchone()
        return None if row is None else int(row[0])

    def finish_notice(self, notice_id: int, state: NoticeState, when: dt.datetime, detail: str | None = None) -> None:
        """Record the result of an attempt."""
        with self._db.transaction():
            self._db.execute(
                "UPDATE notices SET state = %s, finished_at = %s, detail = %s WHERE id = %s",
                (NoticeState(state).value, stamp(when), detail, notice_id),
            )

    def notice_message(self, notice_id: int) -> bytes:
        """The message last attempted for a notice."""
        row = self._db.execute("SELECT message FROM notices WHERE id = %s", (notice_id,)).fetchone()
        if row is None:
            raise KeyError(notice_id)
        return bytes(row[0])
