"""Sending invitation and password-reset mail: SMTP when configured, the log otherwise.

In ``--dev`` (or with no ``smtp_url``) the message, link included, is written
to the log as ``mail_written`` so a developer can follow it; with an SMTP URL it
is sent with the standard library's client in a worker thread.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import structlog

__all__ = ["Mailer"]

_log = structlog.get_logger("servicekit.console.mail")


class Mailer:
    """Sends one plain-text message at a time."""

    def __init__(self, smtp_url: str | None, sender: str, *, dev: bool) -> None:
        self._url = smtp_url
        self._sender = sender
        self._dev = dev
        #: The last messages written instead of sent (newest last), for the log reader.
        self.outbox: list[EmailMessage] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        """Send (or, without SMTP or in dev, log) a message."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message.set_content(body)
        if self._url is None or self._dev:
            self.outbox = [*self.outbox[-49:], message]
            _log.info("mail_written", to=to, subject=subject, body=body)
            return
        await asyncio.to_thread(self._smtp, message)
        _log.info("mail_sent", to=to, subject=subject)

    def _smtp(self, message: EmailMessage) -> None:
        assert self._url is not None
        url = urlsplit(self._url)
        tls = url.scheme == "smtps"
        port = url.port or (465 if tls else 25)
        client: smtplib.SMTP = (smtplib.SMTP_SSL(url.hostname or "localhost", port, timeout=10)
                                if tls else smtplib.SMTP(url.hostname or "localhost", port,
                                                         timeout=10))
        with client:
            if not tls and client.has_extn("starttls"):
                client.starttls()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
