"""Notifications: a JSON POST to a webhook or an email over SMTP.

What to send is queued in the operational database's outbox (observatory/alerts/outbox.py)
in the same transaction as the alert change; these functions do one attempt each. A
channel's secrets (the webhook URL, the SMTP login) are resolved at send time from the
environment or secrets.toml (spec.Secrets); only `target_of`, which shows no secret, is
stored or shown, and error details are scrubbed of them.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from observatory.alerts.spec import (
    ChannelSpec,
    Secrets,
    login_of,
    reference_problems,
    url_to_origin,
    webhook_url_of,
)
from observatory.opsdb.schema import alerts

Payload = dict[str, object]
# HTTPException: a malformed reply, or InvalidURL; ValueError: urllib's "unknown url type".
# Both may quote the URL: send_once scrubs every detail of the channel's secrets.
SEND_ERRORS = (
    OSError,
    urllib.error.URLError,
    http.client.HTTPException,
    smtplib.SMTPException,
    ValueError,
)
_PAYLOAD_COLUMNS = {
    "id": "alert_id",
    "rule": "rule",
    "severity": "severity",
    "state": "state",
    "place": "place_label",
    "place_id": "place_id",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "value": "value",
    "peak": "peak",
    "threshold": "threshold",
    "unit": "unit",
    "message": "message",
    "owner_team": "owner_team",
    "assignee": "assignee",
}


def payloads_for(conn: Connection, events: list[tuple[int, str]]) -> dict[int, Payload]:
    """The alert part of the JSON document sent about each alert, by alert id."""
    ids = sorted({alert_id for alert_id, _ in events})
    query = sa.select(*(alerts.c[c].label(k) for k, c in _PAYLOAD_COLUMNS.items())).where(
        alerts.c.alert_id.in_(ids)
    )
    found: dict[int, Payload] = {}
    for row in conn.execute(query):
        found[row.id] = {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row._mapping.items()
        }
    return found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would POST the alert to a URL nobody checked
    (plain http, another host)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def send_webhook(channel: ChannelSpec, payload: Payload, *, url: str) -> str:
    """POST the payload as JSON to `url` (the channel's, resolved); returns the HTTP status,
    raises on failure. The outbox id travels as `Idempotency-Key`, so a receiver can drop a
    repeat."""
    headers = {"Content-Type": "application/json", "User-Agent": "observatory-alerts"}
    if payload.get("idempotency_key"):
        headers["Idempotency-Key"] = str(payload["idempotency_key"])
    request = urllib.request.Request(
        url, method="POST", headers=headers, data=json.dumps(payload, default=str).encode()
    )
    opener = urllib.request.build_opener(_NoRedirect)  # proxies as $https_proxy says now
    with opener.open(request, timeout=channel.timeout_seconds) as response:
        return f"HTTP {response.status}"


def _email_of(channel: ChannelSpec, payload: Payload) -> EmailMessage:
    assert channel.email is not None
    alert = payload["alert"]
    assert isinstance(alert, dict)
    message = EmailMessage()
    message["Subject"] = (
        f"[{str(alert['severity']).upper()}] {alert['rule']} {payload['event']}: {alert['place']}"
    )
    message["From"] = channel.email.sender
    message["To"] = ", ".join(channel.email.to)
    if payload.get("idempotency_key"):
        message["Message-ID"] = f"<{payload['idempotency_key']}@observatory>"
    message.set_content(
        f"{alert['message']}\n\n" + "\n".join(f"{key}: {value}" for key, value in alert.items())
    )
    return message


def send_email(channel: ChannelSpec, payload: Payload, *, login: tuple[str, str] | None) -> str:
    """Send the alert as a plain-text email through the channel's SMTP server: over implicit
    TLS (`tls`) or upgraded with STARTTLS (`starttls`), logging in when `login` is given."""
    email = channel.email
    assert email is not None
    timeout = channel.timeout_seconds
    if email.tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            email.host, email.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(email.host, email.smtp_port, timeout=timeout)
    with smtp:
        if email.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if login is not None:
            smtp.login(*login)
        smtp.send_message(_email_of(channel, payload))
    return f"sent to {len(email.to)} recipients"


def target_of(channel: ChannelSpec, *, secrets: Secrets | None = None) -> str:
    """Where a channel sends, for people and the outbox: its name and the webhook's
    `scheme://host[:port]`, or the SMTP server and inboxes. Never a token or a login."""
    if channel.email is not None:
        email = channel.email
        scheme = "smtps" if email.tls else "smtp"
        return f"{channel.name}: {scheme}://{email.host}:{email.smtp_port} → {', '.join(email.to)}"
    assert channel.webhook is not None
    url = webhook_url_of(channel, secrets or Secrets())
    name = channel.webhook.url_from
    origin = url_to_origin(url) if url else "webhook"
    source = f" (URL from {name}{'' if url else ', not set'})" if name else ""
    return f"{channel.name}: {origin}{source}"


def _scrubbed(detail: str, channel: ChannelSpec, secrets: Secrets) -> str:
    """`detail` with every secret of the channel (and the parts of its URL past the
    origin) replaced by `***`: an error message may quote what it was given."""
    url = webhook_url_of(channel, secrets)
    found = list(login_of(channel, secrets) or ())
    if url:
        parts = urlsplit(url)
        found += [url, parts.netloc.rpartition("@")[0], parts.path, parts.query, parts.fragment]
    for secret in sorted({s for s in found if len(s) >= 4}, key=len, reverse=True):
        detail = detail.replace(secret, "***")
    return detail


def send_once(
    channel: ChannelSpec, payload: Payload, *, secrets: Secrets | None = None
) -> tuple[bool, str]:
    """One attempt through the channel: (ok, detail). A secret that is not set here, or a
    webhook URL that is refused, fails the attempt without sending anything."""
    secrets = secrets or Secrets()
    problems = reference_problems(channel, secrets)
    if problems:
        return False, f"not sent: channel `{channel.name}`: " + " ".join(m for _, m in problems)
    try:
        if channel.webhook is not None:
            return True, send_webhook(channel, payload, url=str(webhook_url_of(channel, secrets)))
        return True, send_email(channel, payload, login=login_of(channel, secrets))
    except SEND_ERRORS as exc:
        return False, _scrubbed(f"{type(exc).__name__}: {exc}", channel, secrets)
