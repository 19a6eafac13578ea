"""send_email(): the one way the platform sends mail."""

from __future__ import annotations

import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template


def outbox_dir() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "outbox"


def build_message(
    to: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    headers: dict[str, str] | None = None,
):
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=current_app.config["PLATFORM_DOMAIN"])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text_body)
    if html_body:
        message.add_alternative(html_body, subtype="html")
    return message


def send_email(
    to: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Send one message; returns its Message-ID. Raises on SMTP failure so the job retries.
    `headers` adds headers such as List-Unsubscribe."""
    message = build_message(to, subject, text_body, html_body, headers)
    config = current_app.config
    if config["MAIL_SMTP_HOST"]:
        with smtplib.SMTP(config["MAIL_SMTP_HOST"], config["MAIL_SMTP_PORT"], timeout=30) as smtp:
            if config["MAIL_SMTP_TLS"]:
                smtp.starttls()
            if config["MAIL_SMTP_USER"]:
                smtp.login(config["MAIL_SMTP_USER"], config["MAIL_SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    else:
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(message.as_bytes())
    return message["Message-ID"]


def send_template(to: str, subject: str, template: str, **context) -> str:
    """Render `mail/<template>.txt` (and `.html` if it exists) and send it."""
    text_body = render_template(f"mail/{template}.txt", **context)
    return send_email(to, subject, text_body)
