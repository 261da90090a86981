"""Delivering one message to one recipient over SMTP, and saying exactly what became of it.

The envelope (``MAIL FROM``, ``RCPT TO``) and ``DATA`` are sent step by step (not with
``send_message``) so that every failure is placed: before ``DATA`` the server certainly has not
accepted the message; once the message is being handed over, a lost connection leaves its fate
unknown. Replies 4xx (and a lost connection before ``DATA``) are retried with a backoff that
doubles, reconnecting when needed; a 5xx is a refusal of this recipient only. Certificates are
always verified (``ssl.create_default_context``, with the configuration's ``ca_file`` if any).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from email.utils import parseaddr

from peertrain.errors import PeertrainError
from peertrain.ledger import NoticeState
from peertrain.notify.config import SmtpConfig

__all__ = ["MailError", "Mailer"]


class MailError(PeertrainError):
    """The mail server cannot be used at all (unreachable, bad certificate, login refused)."""


def _reply(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(shown.split())}"[:300]


class Mailer:
    """A connection to the configured server, opened on first use and again after a loss.

    ``context`` replaces the default TLS context (a test's own authority); ``sleep`` the pause
    between retries and for the rate limit.
    """

    def __init__(
        self, config: SmtpConfig, *, context: ssl.SSLContext | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._config = config
        self._context = context
        self._sleep = sleep
        self._smtp: smtplib.SMTP | None = None
        self._last = 0.0

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            cafile = str(self._config.ca_file) if self._config.ca_file else None
            self._context = ssl.create_default_context(cafile=cafile)
        return self._context

    def connect(self) -> smtplib.SMTP:
        """The open connection (connecting, securing and logging in if there is none); raises
        :class:`MailError` for what retrying cannot mend and ``OSError`` for what it may."""
        if self._smtp is not None:
            return self._smtp
        c = self._config
        where = f"{c.host}:{c.port}"
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, local_hostname=c.helo, timeout=c.timeout, context=self._tls()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, local_hostname=c.helo, timeout=c.timeout)
            try:
                smtp.ehlo()
                if c.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise MailError(f"mail server {where} does not offer STARTTLS; not sending in clear text")
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if c.username is not None and c.password is not None:
                    smtp.login(c.username, c.password.value())
            except BaseException:
                smtp.close()
                raise
        except ssl.SSLCertVerificationError as exc:
            raise MailError(f"mail server {where}: its certificate cannot be verified ({exc.verify_message})") from None
        except ssl.SSLError as exc:
            raise MailError(f"mail server {where}: TLS failed ({exc.reason or exc})") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"mail server {where} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError:
            raise MailError(f"mail server {where} offers no login (AUTH); not sending the password") from None
        except smtplib.SMTPConnectError as exc:
            raise OSError(f"mail server {where}: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            # smtplib reports a greeting or reply that never came as "Connection unexpectedly
            # closed: timed out", which is not what happened, and names no server.
            if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
                raise OSError(f"mail server {where} did not answer within {c.timeout:g} s") from None
            raise OSError(f"mail server {where} closed the connection ({exc})") from None
        except OSError as exc:
            if isinstance(exc, smtplib.SMTPException):
                raise
            raise OSError(f"mail server {where}: {exc.strerror or exc}") from None
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        """Say QUIT and close."""
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()

    def _pace(self) -> None:
        wait = self._last + 1 / self._config.rate - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last = time.monotonic()

    def send(self, recipient: str, message: bytes) -> tuple[NoticeState, str]:
        """Deliver ``message`` to ``recipient``: ``(state, what the server said)``.

        ``sent``: accepted; ``refused``: a 5xx; ``deferred``: certainly not accepted (4xx or no
        connection, retries spent); ``pending``: the connection was lost while the message was
        being handed over, so nobody knows.
        """
        sender = parseaddr(self._config.sender)[1]
        detail = "not attempted"
        self._pace()
        for attempt in range(self._config.retries + 1):
            if attempt:
                self._sleep(self._config.backoff * 2 ** (attempt - 1))
            handing_over = False
            try:
                smtp = self.connect()
                code, text = smtp.mail(sender)
                if code == 250:
                    code, text = smtp.rcpt(recipient)
                if code in (250, 251):
                    handing_over = True
                    reply: bytes | str
                    try:
                        code, reply = smtp.data(message)
                    except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing handed over
                        code, reply = exc.smtp_code, exc.smtp_error
                    text = reply if isinstance(reply, bytes) else reply.encode()
                    handing_over = False
                    if code == 250:
                        return NoticeState.SENT, _reply(code, text)
                detail = _reply(code, text)
                if code == 421 or code < 400:
                    self._drop()
                else:
                    smtp.rset()
                if 500 <= code < 600:
                    return NoticeState.REFUSED, detail
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as exc:
                self._drop()
                detail = f"connection lost: {exc}" if str(exc) else "connection lost"
                if handing_over:
                    return NoticeState.PENDING, detail + " (while the message was being handed over: fate unknown)"
        return NoticeState.DEFERRED, detail
