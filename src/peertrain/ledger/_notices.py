"""The SQLite ledger's ``notices`` table, for :mod:`peertrain.ledger.sqlite`: every e-mail notice
``peertrain notify`` attempted, with the message as handed to the mail server and its result.

An attempt is committed (``pending``) before the message goes to the server and its result after;
the conditional upsert of :meth:`_Notices.begin_notice` is the one place that decides whether a
notice may be attempted, so two runs at once, or a rerun after a crash, cannot both send it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from typing import Any

from peertrain.ledger import NoticeDraft, NoticeRow, NoticeState
from peertrain.ledger._schema import AGENCY, _now_text, _Transaction

_COLUMNS = (
    "id, key, kind, agency, member_id, requirement, deadline, stage, recipient, subject, message_id, "
    "state, attempts, attempted_at, finished_at, detail"
)


def _row(r: Any) -> NoticeRow:
    draft = NoticeDraft(
        key=r[1], kind=r[2], agency=r[3], member=r[4], requirement=r[5], deadline=dt.date.fromisoformat(r[6]),
        stage=r[7], recipient=r[8], subject=r[9], message_id=r[10],
    )
    return NoticeRow(
        id=r[0], draft=draft, state=NoticeState(r[11]), attempts=r[12],
        attempted_at=dt.datetime.fromisoformat(r[13]),
        finished_at=dt.datetime.fromisoformat(r[14]) if r[14] else None, detail=r[15],
    )


class _Notices:
    """The notices of a ledger (see :class:`~peertrain.ledger.sqlite.SQLiteLedger`)."""

    _db: sqlite3.Connection

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def notice_states(self) -> dict[str, NoticeState]:
        """The state of every recorded notice, by key."""
        return {key: NoticeState(state) for key, state in self._db.execute("SELECT key, state FROM notices")}

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
        marks = ", ".join("?" * len(allowed))
        stamp = _now_text(when)
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO notices (key, kind, agency, member_id, requirement, deadline, stage, recipient, "
                "subject, message_id, message, state, attempts, attempted_at, agency_id) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, {AGENCY}) "
                "ON CONFLICT (key) DO UPDATE SET subject = excluded.subject, message_id = excluded.message_id, "
                "message = excluded.message, state = 'pending', attempts = notices.attempts + 1, "
                f"attempted_at = excluded.attempted_at, finished_at = NULL, detail = NULL "
                f"WHERE notices.state IN ({marks})",
                (
                    draft.key, draft.kind, draft.agency, draft.member, draft.requirement, draft.deadline.isoformat(),
                    draft.stage, draft.recipient, draft.subject, draft.message_id, message, stamp, *allowed,
                ),
            )
            if cursor.rowcount == 0:
                return None
            row = self._db.execute("SELECT id FROM notices WHERE key = ?", (draft.key,)).fetchone()
        return int(row[0])

    def finish_notice(self, notice_id: int, state: NoticeState, when: dt.datetime, detail: str | None = None) -> None:
        """Record the result of an attempt."""
        with self._transaction():
            self._db.execute(
                "UPDATE notices SET state = ?, finished_at = ?, detail = ? WHERE id = ?",
                (NoticeState(state).value, _now_text(when), detail, notice_id),
            )

    def notice_message(self, notice_id: int) -> bytes:
        """The message last attempted for a notice."""
        row = self._db.execute("SELECT message FROM notices WHERE id = ?", (notice_id,)).fetchone()
        if row is None:
            raise KeyError(notice_id)
        return bytes(row[0])
