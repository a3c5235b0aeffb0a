"""Notifications: a JSON POST to a webhook or an email over SMTP.

What to send is queued in the operational database's outbox (observatory/alerts/outbox.py)
in the same transaction as the alert change; these functions do one attempt each.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from observatory.alerts.spec import ChannelSpec
from observatory.opsdb.schema import alerts

Payload = dict[str, object]
SEND_ERRORS = (OSError, urllib.error.URLError, smtplib.SMTPException)
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


def send_webhook(channel: ChannelSpec, payload: Payload) -> str:
    """POST the payload as JSON; returns the HTTP status, raises on failure. The outbox id
    travels as `Idempotency-Key`, so a receiver can drop a repeat."""
    assert channel.webhook is not None
    headers = {"Content-Type": "application/json", "User-Agent": "observatory-alerts"}
    if payload.get("idempotency_key"):
        headers["Idempotency-Key"] = str(payload["idempotency_key"])
    request = urllib.request.Request(
        channel.webhook.url,
        method="POST",
        headers=headers,
        data=json.dumps(payload, default=str).encode(),
    )
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:
        return f"HTTP {response.status}"


def send_email(channel: ChannelSpec, payload: Payload) -> str:
    """Send the alert as a plain-text email through the channel's SMTP server."""
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
    with smtplib.SMTP(
        channel.email.host, channel.email.port, timeout=channel.timeout_seconds
    ) as smtp:
        smtp.send_message(message)
    return f"sent to {len(channel.email.to)} recipients"


def target_of(channel: ChannelSpec) -> str:
    """Where a channel sends, for people (the webhook URL, or the SMTP server and inboxes)."""
    if channel.webhook is not None:
        return channel.webhook.url
    assert channel.email is not None
    return f"smtp://{channel.email.host}:{channel.email.port} → {', '.join(channel.email.to)}"


def send_once(channel: ChannelSpec, payload: Payload) -> tuple[bool, str]:
    """One attempt through the channel: (ok, detail)."""
    sender = send_webhook if channel.webhook is not None else send_email
    try:
        return True, sender(channel, payload)
    except SEND_ERRORS as exc:
        return False, f"{type(exc).__name__}: {exc}"
