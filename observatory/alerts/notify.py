"""Notifications: a JSON POST to a webhook or an email over SMTP, retried with backoff,
every attempt recorded in `alert_notifications`."""

from __future__ import annotations

import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import duckdb

from observatory.alerts.loader import RuleSet
from observatory.alerts.spec import SEVERITY_RANK, ChannelSpec

Payload = dict[str, object]
_ALERT_SQL = """
SELECT alert_id AS id, rule, severity, state, place_label AS place, place_id, started_at,
       ended_at, value, peak, threshold, unit, message, owner_team, assignee
FROM alerts WHERE alert_id = $id
"""


def payload_for(con: duckdb.DuckDBPyConnection, alert_id: int, event: str) -> Payload:
    """The JSON document sent about one alert and event (fired, resolved)."""
    cursor = con.execute(_ALERT_SQL, {"id": alert_id})
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchall()[0], strict=True))
    return {"event": event, "alert": {k: (v.isoformat() if isinstance(v, datetime) else v)
                                      for k, v in row.items()}}


def send_webhook(channel: ChannelSpec, payload: Payload) -> str:
    """POST the payload as JSON; returns the HTTP status, raises on failure."""
    assert channel.webhook is not None
    request = urllib.request.Request(
        channel.webhook.url, data=json.dumps(payload, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "observatory-alerts"})
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:
        return f"HTTP {response.status}"


def send_email(channel: ChannelSpec, payload: Payload) -> str:
    """Send the alert as a plain-text email through the channel's SMTP server."""
    assert channel.email is not None
    alert = payload["alert"]
    assert isinstance(alert, dict)
    message = EmailMessage()
    message["Subject"] = (f"[{str(alert['severity']).upper()}] {alert['rule']} "
                          f"{payload['event']}: {alert['place']}")
    message["From"] = channel.email.sender
    message["To"] = ", ".join(channel.email.to)
    message.set_content(f"{alert['message']}\n\n" + "\n".join(
        f"{key}: {value}" for key, value in alert.items()))
    with smtplib.SMTP(channel.email.host, channel.email.port,
                      timeout=channel.timeout_seconds) as smtp:
        smtp.send_message(message)
    return f"sent to {len(channel.email.to)} recipients"


def _target(channel: ChannelSpec) -> str:
    if channel.webhook is not None:
        return channel.webhook.url
    assert channel.email is not None
    return f"smtp://{channel.email.host}:{channel.email.port} → {', '.join(channel.email.to)}"


def notify_channel(con: duckdb.DuckDBPyConnection, channel: ChannelSpec, payload: Payload, *,
                   now: datetime, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Send with up to `retries` retries and exponential backoff; log each attempt."""
    sender = send_webhook if channel.webhook is not None else send_email
    alert = payload["alert"]
    assert isinstance(alert, dict)
    for attempt in range(1, channel.retries + 2):
        try:
            detail, ok = sender(channel, payload), True
        except (OSError, urllib.error.URLError, smtplib.SMTPException) as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        con.execute("INSERT INTO alert_notifications VALUES ($id, $event, $channel, $target, "
                    "$attempt, $at, $ok, $detail)",
                    {"id": alert["id"], "event": payload["event"], "channel": channel.name,
                     "target": _target(channel), "attempt": attempt, "at": now, "ok": ok,
                     "detail": detail[:500]})
        if ok:
            return True
        if attempt <= channel.retries:
            sleep(channel.backoff_seconds * 2 ** (attempt - 1))
    return False


def deliver(con: duckdb.DuckDBPyConnection, events: list[tuple[int, str]], ruleset: RuleSet,
            *, now: datetime) -> int:
    """Notify the channels of each alert's rule about its events; returns deliveries made."""
    delivered = 0
    for alert_id, event in events:
        payload = payload_for(con, alert_id, event)
        alert = payload["alert"]
        assert isinstance(alert, dict)
        rule = ruleset.rules.get(str(alert["rule"]))
        for name in rule.notify if rule else []:
            channel = ruleset.channels[name]
            if SEVERITY_RANK[str(alert["severity"])] < SEVERITY_RANK[channel.min_severity]:
                continue
            delivered += notify_channel(con, channel, payload, now=now)
    return delivered
