"""E-mail notices before every deadline, each sent at most once (``peertrain notify``).

- :func:`load_config` reads ``notify.toml`` (mail server, recipients, offsets per agency);
- :func:`plan_notices` works out the notices due on a date that the ledger has not recorded, with
  their messages (text, HTML and an ``.ics`` of the deadline with the feeds' UID);
- :func:`send_notices` sends them over SMTP, recording each attempt in the ledger before the
  message goes to the server and its result after; :func:`resend` sends again, on request, the
  messages whose fate is unknown.

See ``docs/notify.md``.
"""

from __future__ import annotations

from peertrain.notify.config import DEFAULT_OFFSETS, AgencyConfig, NotifyConfig, SmtpConfig, load_config
from peertrain.notify.messages import Composer, long_date
from peertrain.notify.plan import Notice, due_notices
from peertrain.notify.run import NotifyPlan, NotifyReport, Outcome, plan_notices, resend, send_notices, write_outbox
from peertrain.notify.smtp import Mailer, MailError

__all__ = [
    "DEFAULT_OFFSETS",
    "AgencyConfig",
    "Composer",
    "MailError",
    "Mailer",
    "Notice",
    "NotifyConfig",
    "NotifyPlan",
    "NotifyReport",
    "Outcome",
    "SmtpConfig",
    "due_notices",
    "load_config",
    "long_date",
    "plan_notices",
    "resend",
    "send_notices",
    "write_outbox",
]
