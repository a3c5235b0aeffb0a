"""The notification outbox: queued with the alert change, delivered exactly once.

An evaluation queues one row per alert × event × channel in the same transaction that
fired or resolved the alert (ON CONFLICT DO NOTHING, so a second evaluation cannot queue
it again). After the commit, `deliver_pending` claims one due row at a time with an
atomic UPDATE that sets a claim token and a lease only where the row is unclaimed or its
lease expired, sends it (the outbox id is the payload's idempotency key), records the
attempt, and marks the row sent, schedules a retry after `backoff_seconds * 2**(n-1)`, or
marks it failed after `retries` retries. Two evaluators, threads or processes, never send
one row twice. Rows hold no secret: `target` is notify.target_of (a name and an origin),
and a channel's URL and login are resolved only when a row is sent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from observatory.alerts.loader import RuleSet
from observatory.alerts.merge import insert_ignoring_duplicates
from observatory.alerts.notify import payloads_for, send_once, target_of
from observatory.alerts.spec import SEVERITY_RANK, ChannelSpec, Secrets
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import notification_attempts, notification_outbox

LEASE = timedelta(minutes=5)
_OUT = notification_outbox


def queue_notifications(
    conn: Connection, events: list[tuple[int, str]], ruleset: RuleSet, *, now: datetime
) -> int:
    """Queue the notifications of `events` (alert id, event) for each channel of the
    alert's rule that takes its severity; returns the rows queued now."""
    if not events:
        return 0
    payloads, secrets = payloads_for(conn, events), Secrets()
    rows = []
    for alert_id, event in events:
        alert = payloads[alert_id]
        rule = ruleset.rules.get(str(alert["rule"]))
        for name in rule.notify if rule else []:
            channel = ruleset.channels[name]
            if SEVERITY_RANK[str(alert["severity"])] < SEVERITY_RANK[channel.min_severity]:
                continue
            rows.append(
                {
                    "alert_id": alert_id,
                    "event": event,
                    "channel": name,
                    "target": target_of(channel, secrets=secrets),  # never a secret
                    "status": "pending",
                    "attempts": 0,
                    "payload": json.dumps({"event": event, "alert": alert}, default=str),
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if not rows:
        return 0
    query = insert_ignoring_duplicates(conn, _OUT, ["alert_id", "event", "channel"])
    return len(conn.execute(query.returning(_OUT.c.outbox_id), rows).all())


@dataclass(frozen=True)
class Claim:
    """One outbox row this worker holds the lease on."""

    outbox_id: int
    token: str
    channel: str
    payload: dict[str, object]
    attempts: int


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _OUT.c.status == "pending",
        _OUT.c.next_attempt_at <= now,
        sa.or_(_OUT.c.claimed_until.is_(None), _OUT.c.claimed_until < now),
    )


def claim_next(ops: OpsDB, *, now: datetime | None = None) -> Claim | None:
    """Claim the oldest due row (None when nothing is due or another worker won it)."""
    now, token = now or datetime.now(UTC), uuid.uuid4().hex
    with ops.write() as conn:
        candidate = conn.execute(
            sa.select(_OUT.c.outbox_id)
            .where(_claimable(now))
            .order_by(_OUT.c.outbox_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar()
        if candidate is None:
            return None
        claimed = conn.execute(
            sa.update(_OUT)
            .where(_OUT.c.outbox_id == candidate, _claimable(now))
            .values(claim_token=token, claimed_until=now + LEASE)
            .returning(_OUT.c.channel, _OUT.c.payload, _OUT.c.attempts)
        ).first()
    if claimed is None:
        return None
    payload = {
        **json.loads(claimed.payload),
        "outbox_id": candidate,
        "idempotency_key": f"observatory-outbox-{candidate}",
    }
    return Claim(candidate, token, claimed.channel, payload, claimed.attempts)


def record_attempt(
    ops: OpsDB,
    claim: Claim,
    channel: ChannelSpec | None,
    *,
    ok: bool,
    detail: str,
    now: datetime | None = None,
) -> str:
    """Log the attempt and settle the row: sent, pending (retry later) or failed."""
    now, attempt = now or datetime.now(UTC), claim.attempts + 1
    retries = channel.retries if channel else 0
    changes: dict[str, object] = {
        "attempts": attempt,
        "claim_token": None,
        "claimed_until": None,
        "last_error": None if ok else detail,
    }
    if ok:
        changes.update(status="sent", sent_at=now)
    elif attempt <= retries and channel is not None:
        delay = channel.backoff_seconds * 2 ** (attempt - 1)
        changes.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
    else:
        changes.update(status="failed")
    with ops.write() as conn:
        conn.execute(
            sa.insert(notification_attempts).values(
                outbox_id=claim.outbox_id,
                attempt=attempt,
                attempted_at=now,
                ok=ok,
                detail=detail[:500],
            )
        )
        conn.execute(
            sa.update(_OUT)
            .where(_OUT.c.outbox_id == claim.outbox_id, _OUT.c.claim_token == claim.token)
            .values(**changes)
        )
    return str(changes["status"])


def _next_due(ops: OpsDB) -> datetime | None:
    with ops.read() as conn:
        return conn.execute(
            sa.select(sa.func.min(_OUT.c.next_attempt_at)).where(
                _OUT.c.status == "pending", _OUT.c.claim_token.is_(None)
            )
        ).scalar()


def deliver_pending(
    ops: OpsDB,
    ruleset: RuleSet,
    *,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send every due notification; wait for retries due within `max_wait` seconds (later
    ones are left for the next evaluation). Returns how many were sent."""
    sent, deadline = 0, time.monotonic() + max_wait
    secrets = Secrets()  # read where and when the notifications are sent
    while True:
        claim = claim_next(ops)
        if claim is None:
            due = _next_due(ops)
            if due is None:
                return sent
            wait = (due - datetime.now(UTC)).total_seconds()
            if time.monotonic() + wait > deadline:
                return sent
            sleep(max(wait, 0.0) + 0.01)
            continue
        channel = ruleset.channels.get(claim.channel)
        if channel is None:
            ok, detail = (
                False,
                (
                    f"channel `{claim.channel}` is no longer defined in the "
                    f"alert rules ({ruleset.folder})"
                ),
            )
        else:
            ok, detail = send_once(channel, claim.payload, secrets=secrets)
        sent += record_attempt(ops, claim, channel, ok=ok, detail=detail) == "sent"
