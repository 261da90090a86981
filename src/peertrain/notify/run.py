"""Running notify: plan the notices due, record each attempt, send, record each result.

The order that makes "at most once" hold through crashes: for each notice, the attempt (with the
message) is committed to the ledger as ``pending`` *before* the message goes to the mail server,
and its result (``sent``, ``refused``, ``deferred``) after. A run killed in between leaves the
notice ``pending``: its fate is unknown (the server may have accepted it), so no later run sends it
by itself; :func:`resend` sends such messages again when a person asks (the same bytes, with the
same Message-ID, so that mail clients that saw the first can drop the second).
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from attrs import field, frozen

from peertrain._files import write_bytes
from peertrain._types import StrPath
from peertrain.calendars import member_stamps
from peertrain.errors import InputError
from peertrain.imports.tables import read_waivers
from peertrain.ledger import Ledger, NoticeDraft, NoticeRow, NoticeState
from peertrain.notify.config import NotifyConfig
from peertrain.notify.messages import Composer
from peertrain.notify.plan import Notice, due_notices
from peertrain.notify.smtp import Mailer, MailError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import ComplianceResult, check_compliance
from peertrain.rules.loading import load_bundled_catalogue, load_pack
from peertrain.rules.model import Member
from peertrain.rules.requirements import RulePack

__all__ = ["NotifyPlan", "NotifyReport", "Outcome", "plan_notices", "resend", "send_notices", "write_outbox"]


@frozen
class NotifyPlan:
    """The notices due as of a date, with their messages, and warnings."""

    as_of: dt.date
    notices: tuple[Notice, ...]
    messages: tuple[tuple[NoticeDraft, bytes], ...]
    warnings: tuple[str, ...]
    #: Notices of earlier runs whose fate is unknown (``pending``): not sent again by themselves.
    unknown: tuple[NoticeRow, ...] = ()


@frozen
class Outcome:
    """What became of one message in this run."""

    draft: NoticeDraft
    state: NoticeState
    detail: str


@frozen
class NotifyReport:
    """The outcome of each message attempted, and why the run stopped early, if it did."""

    outcomes: tuple[Outcome, ...] = ()
    not_attempted: tuple[NoticeDraft, ...] = ()
    stopped: str | None = None
    unknown_before: tuple[NoticeRow, ...] = field(default=())

    def count(self, state: NoticeState) -> int:
        """How many messages ended in ``state`` in this run."""
        return sum(1 for o in self.outcomes if o.state is state)

    @property
    def clean(self) -> bool:
        """Whether every message due was sent (nothing refused, deferred, unknown or left)."""
        return self.stopped is None and not self.not_attempted and all(
            o.state is NoticeState.SENT for o in self.outcomes
        )


def _packs(config: NotifyConfig, names: Sequence[str], catalogue: Catalogue) -> list[RulePack]:
    chosen = list(names) or list(config.packs)
    if not chosen:
        raise InputError(str(config.path), "packs: name the rule packs (or give --rules)")
    return [load_pack(n if "/" not in n and not n.endswith(".toml") else config.path.parent / n, catalogue)
            for n in dict.fromkeys(chosen)]


def plan_notices(
    ledger: Ledger,
    config: NotifyConfig,
    as_of: dt.date,
    *,
    packs: Sequence[str] = (),
    catalogue: Catalogue | None = None,
) -> NotifyPlan:
    """The notices due on ``as_of`` that the ledger has not recorded, and their messages."""
    catalogue = catalogue or load_bundled_catalogue(config.catalogs)
    rule_packs = _packs(config, packs, catalogue)
    members: list[Member] = ledger.members()
    completions = list(ledger.completions())
    waivers = read_waivers(config.exemptions, members) if config.exemptions else []
    result: ComplianceResult = check_compliance(
        members, completions, rule_packs, as_of, catalogue=catalogue, waivers=waivers
    )
    notices, warnings = due_notices(result, members, config, ledger.notice_states())
    composer = Composer(config, result, rule_packs, catalogue, member_stamps(members, completions, as_of))
    messages = tuple(composer.draft(n) for n in notices)
    unknown = tuple(ledger.notices([NoticeState.PENDING]))
    return NotifyPlan(as_of, tuple(notices), messages, (*result.warnings, *warnings), unknown)


def write_outbox(folder: StrPath, messages: Iterable[tuple[NoticeDraft, bytes]]) -> list[Path]:
    """Each message as ``NNN-kind-member-stage.eml`` (private, written atomically) in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "no such folder for --outbox")
    written = []
    for number, (draft, data) in enumerate(messages, 1):
        who = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (draft.member or draft.agency))
        path = folder / f"{number:03d}-{draft.kind}-{who}-{draft.stage}.eml"
        write_bytes(path, data)
        written.append(path)
    return written


def _deliver(
    ledger: Ledger,
    config: NotifyConfig,
    messages: Sequence[tuple[NoticeDraft, bytes]],
    *,
    again: bool,
    context: ssl.SSLContext | None,
    sleep: Callable[[float], None],
    unknown_before: tuple[NoticeRow, ...] = (),
) -> NotifyReport:
    if not messages:
        return NotifyReport(unknown_before=unknown_before)
    if config.smtp is None:
        raise InputError(str(config.path), "smtp: no mail server configured (add an [smtp] table)")
    mailer = Mailer(config.smtp, context=context, sleep=sleep)
    outcomes: list[Outcome] = []
    try:
        try:
            _connect(mailer, config.smtp.retries, config.smtp.backoff, sleep)
        except (MailError, OSError) as exc:
            return NotifyReport((), tuple(d for d, _ in messages), str(exc), unknown_before)
        for index, (draft, data) in enumerate(messages):
            now = dt.datetime.now(dt.UTC)
            notice_id = ledger.begin_notice(draft, data, now, again=again)
            if notice_id is None:  # another run got there first
                continue
            try:
                state, detail = mailer.send(draft.recipient, data)
            except MailError as exc:  # e.g. the certificate changed on reconnection
                ledger.finish_notice(notice_id, NoticeState.DEFERRED, dt.datetime.now(dt.UTC), str(exc))
                outcomes.append(Outcome(draft, NoticeState.DEFERRED, str(exc)))
                left = tuple(d for d, _ in messages[index + 1:])
                return NotifyReport(tuple(outcomes), left, str(exc), unknown_before)
            if state is not NoticeState.PENDING:
                ledger.finish_notice(notice_id, state, dt.datetime.now(dt.UTC), detail)
            outcomes.append(Outcome(draft, state, detail))
            if state in (NoticeState.DEFERRED, NoticeState.PENDING) and detail.startswith("connection lost"):
                stop = f"the mail server could not be reached again after {config.smtp.retries} retries: {detail}"
                if state is NoticeState.PENDING:
                    try:
                        _connect(mailer, config.smtp.retries, config.smtp.backoff, sleep)
                        continue
                    except (MailError, OSError) as exc:
                        stop = str(exc)
                return NotifyReport(tuple(outcomes), tuple(d for d, _ in messages[index + 1:]), stop, unknown_before)
    finally:
        mailer.close()
    return NotifyReport(tuple(outcomes), (), None, unknown_before)


def _connect(mailer: Mailer, retries: int, backoff: float, sleep: Callable[[float], None]) -> None:
    for attempt in range(retries + 1):
        try:
            mailer.connect()
            return
        except OSError:
            if attempt == retries:
                raise
            sleep(backoff * 2**attempt)


def send_notices(
    ledger: Ledger,
    config: NotifyConfig,
    plan: NotifyPlan,
    *,
    context: ssl.SSLContext | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> NotifyReport:
    """Send the plan's messages, recording each attempt before and its result after."""
    return _deliver(ledger, config, plan.messages, again=False, context=context, sleep=sleep,
                    unknown_before=plan.unknown)


def resend(
    ledger: Ledger,
    config: NotifyConfig,
    ids: Iterable[int] | None = None,
    *,
    context: ssl.SSLContext | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> NotifyReport:
    """Send again, as they were, the notices whose fate is unknown (``ids``: those notices, of any
    state but ``sent``). A person decides this: the first copy may have arrived."""
    rows = ledger.notices([NoticeState.PENDING, NoticeState.REFUSED, NoticeState.DEFERRED])
    if ids is None:
        chosen = [r for r in rows if r.state is NoticeState.PENDING]
    else:
        wanted = set(ids)
        chosen = [r for r in rows if r.id in wanted]
        missing = wanted - {r.id for r in chosen}
        if missing:
            raise InputError("resend", f"no unsent notice with id {', '.join(map(str, sorted(missing)))}")
    messages = [(r.draft, ledger.notice_message(r.id)) for r in chosen]
    return _deliver(ledger, config, messages, again=True, context=context, sleep=sleep)
