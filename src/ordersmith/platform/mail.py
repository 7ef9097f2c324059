"""Sending e-mail: the SMTP adapter (`ORDERSMITH_SMTP_URL`, or host and port) behind a small `Mailer` protocol.

Invariant: no credential lives in code; the password comes from settings only and is never logged. Each message is
one SMTP session opened and closed by `send`, outside any database transaction.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ordersmith.platform.settings import Settings

SCHEMES = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str  # e.g. text/csv


class Mailer(Protocol):
    def send(
        self, *, to: Sequence[str], subject: str, text: str, attachments: Sequence[Attachment] = ()
    ) -> None:
        """Send one message; raises MailFailed when the server refuses it or cannot be reached."""


class MailFailed(RuntimeError):
    """The message was not accepted (the server's answer, never a credential)."""


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # the password never reaches a log line
        return f"SmtpMailer({self.host}:{self.port}, {self.security})"

    def send(
        self, *, to: Sequence[str], subject: str, text: str, attachments: Sequence[Attachment] = ()
    ) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(text)
        for attachment in attachments:
            main, _, sub = attachment.media_type.partition(";")[0].strip().partition("/")
            message.add_attachment(
                attachment.content, maintype=main, subtype=sub, filename=attachment.filename
            )
        try:
            if self.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{self.host}:{self.port} did not take the message: {exc}") from None


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    """The SMTP adapter the settings describe; None when no server is configured.

    Raises:
        ValueError: an ORDERSMITH_SMTP_URL of another scheme or without a host.
    """
    url = settings.smtp_url.get_secret_value()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError("ORDERSMITH_SMTP_URL must be smtp://, smtps:// or smtp+starttls://host[:port]")
        security = SCHEMES[parts.scheme]
        return SmtpMailer(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[security],
            sender=settings.smtp_from,
            security=security,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout_s=settings.smtp_timeout_s,
        )
    if not settings.smtp_host:
        return None
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        timeout_s=settings.smtp_timeout_s,
    )
