"""Alert rule files (errors with file and line), notifications to local servers through the
outbox, the CLI (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from observatory.alerts import RuleSet, RuleSpec, load_rules
from observatory.alerts.lifecycle import alert_trail
from observatory.alerts.outbox import claim_next, deliver_pending, queue_notifications
from observatory.alerts.spec import ChannelSpec
from observatory.cli import main
from observatory.opsdb import OpsDB, ops_database
from observatory.opsdb.schema import notification_attempts, notification_outbox
from observatory.registry import Registry
from tests.conftest_ops import insert_alert
from tests.test_alerts import _spec

BAD_RULES = """\
rules:
  - name: ok_rule
    kind: threshold
    indicator: levels_count
    above: 3
    severity: warning
    owner: ops
    message: "{place} at {value}"
  - name: typo_rule
    kind: threshold
    indicatr: levels_count
    above: 3
    severity: warning
    owner: ops
    message: "{place}"
  - name: unknown_indicator
    kind: worsening
    indicator: levels_cnt
    periods: 2
    severity: warning
    owner: ops
    message: "{place} {colour}"
"""


def test_rule_files_report_every_problem_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(BAD_RULES)
    registry = Registry(folder=tmp_path, specs={"levels_count": _spec("levels_count")})
    ruleset = load_rules(tmp_path, registry=registry)
    assert list(ruleset.rules) == ["ok_rule"]
    text = "\n".join(ruleset.problems)
    assert "bad.yml line 11: unknown key `indicatr`." in text
    assert "Did you mean `indicator`?" in text
    assert "bad.yml line 18: unknown indicator `levels_cnt`. Did you mean `levels_count`?" in text
    assert "bad.yml line 22: message template uses `{colour}`" in text


def test_shipped_rules_are_valid() -> None:
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.settings import indicators_dir

    registry = load_registry(indicators_dir(), known_inputs=known_datasets())
    ruleset = load_rules(Path(__file__).parents[1] / "alerts", registry=registry)
    assert not ruleset.problems
    assert {"no2_hourly_eu_limit", "pm25_daily_who_guideline", "source_stale"} <= set(ruleset.rules)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_first = 1

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Hook.fail_first > 0:
            _Hook.fail_first -= 1
            self.send_response(503)
        else:
            _Hook.received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message."""

    messages: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 stub\r\n")
        data: list[str] = []
        reading = False
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if reading:
                if line == ".":
                    reading = False
                    _Smtp.messages.append("\n".join(data))
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb == "DATA":
                reading = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (http, smtp)]
    for thread in threads:
        thread.start()
    yield http.server_address[1], smtp.server_address[1]
    for server in (http, smtp):
        server.shutdown()
        server.server_close()


def _ruleset(*channels: ChannelSpec) -> RuleSet:
    rule = RuleSpec(
        name="no2",
        kind="threshold",
        severity="critical",
        owner="ops",
        message="NO2 high",
        variable="no2",
        above=200,
        notify=[c.name for c in channels],
    )
    return RuleSet(folder=Path("t"), rules={"no2": rule}, channels={c.name: c for c in channels})


def _attempts(ops: OpsDB) -> list[tuple[str, int, bool]]:
    query = (
        sa.select(
            notification_outbox.c.channel,
            notification_attempts.c.attempt,
            notification_attempts.c.ok,
        )
        .join(notification_outbox)
        .order_by(notification_outbox.c.channel, notification_attempts.c.attempt)
    )
    with ops.read() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _statuses(ops: OpsDB) -> dict[str, str]:
    with ops.read() as conn:
        return dict(
            conn.execute(
                sa.select(notification_outbox.c.channel, notification_outbox.c.status)
            ).all()
        )


def test_webhook_and_email_with_retries_and_an_attempt_log(
    servers: tuple[int, int], ops: OpsDB
) -> None:
    http_port, smtp_port = servers
    _Hook.fail_first = 1
    hook = ChannelSpec(
        name="ops-hook",
        webhook={"url": f"http://127.0.0.1:{http_port}/h"},
        retries=2,
        backoff_seconds=0,
    )
    mail = ChannelSpec(
        name="ops-mail",
        email={
            "host": "127.0.0.1",
            "port": smtp_port,
            "sender": "alerts@example.org",
            "to": ["ops@example.org"],
        },
    )
    refused = ChannelSpec(
        name="down",
        webhook={"url": "http://127.0.0.1:9/"},
        retries=1,
        backoff_seconds=0,
        timeout_seconds=1,
    )
    ruleset = _ruleset(hook, mail, refused)
    alert_id = insert_alert(ops, rule="no2", severity="critical")
    now = datetime.now(UTC)
    with ops.write() as conn:
        assert queue_notifications(conn, [(alert_id, "fired")], ruleset, now=now) == 3
    with ops.write() as conn:  # queued once: the same event again adds nothing
        assert queue_notifications(conn, [(alert_id, "fired")], ruleset, now=now) == 0
    assert deliver_pending(ops, ruleset) == 2
    assert _attempts(ops) == [
        ("down", 1, False),
        ("down", 2, False),
        ("ops-hook", 1, False),
        ("ops-hook", 2, True),
        ("ops-mail", 1, True),
    ]
    assert _statuses(ops) == {"down": "failed", "ops-hook": "sent", "ops-mail": "sent"}
    body = _Hook.received[-1]
    assert body["alert"]["rule"] == "no2" and body["event"] == "fired"
    assert body["idempotency_key"] == f"observatory-outbox-{body['outbox_id']}"
    assert "Subject: [CRITICAL] no2 fired: whole area" in _Smtp.messages[-1]
    assert deliver_pending(ops, ruleset) == 0  # nothing is sent twice


def test_retries_back_off_exponentially_then_fail(ops: OpsDB) -> None:
    down = ChannelSpec(
        name="down",
        webhook={"url": "http://127.0.0.1:9/"},
        retries=2,
        backoff_seconds=10,
        timeout_seconds=1,
    )
    ruleset = _ruleset(down)
    alert_id = insert_alert(ops, rule="no2", severity="critical")
    with ops.write() as conn:
        queue_notifications(conn, [(alert_id, "fired")], ruleset, now=datetime.now(UTC))
    assert deliver_pending(ops, ruleset, max_wait=0) == 0  # the retry is 10 s away
    assert claim_next(ops) is None  # not due yet
    due = []
    for _ in range(2):  # time travel to each retry
        with ops.read() as conn:
            row = conn.execute(sa.select(notification_outbox)).one()
        due.append(row.next_attempt_at - row.created_at)
        from observatory.alerts.outbox import record_attempt

        claim = claim_next(ops, now=row.next_attempt_at + timedelta(seconds=1))
        assert claim is not None and claim_next(ops, now=row.next_attempt_at) is None
        record_attempt(ops, claim, down, ok=False, detail="refused", now=row.next_attempt_at)
    assert [round(d.total_seconds()) for d in due] == [10, 10 + 20]
    assert _statuses(ops) == {"down": "failed"}
    assert [a for _, a, _ in _attempts(ops)] == [1, 2, 3]


def test_cli_lists_acknowledges_and_validates(
    demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_copy = demo_copy
    capsys.readouterr()
    assert main(["alerts", "list", "--state", "firing", "--json", "--store", str(store_copy)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["state"] == "firing" for r in rows)
    for key in (
        "id",
        "rule",
        "severity",
        "state",
        "place",
        "started_at",
        "ended_at",
        "value",
        "acknowledged_by",
        "comment",
    ):
        assert key in rows[0]
    first = rows[0]["id"]
    assert (
        main(
            [
                "alerts",
                "ack",
                str(first),
                "--by",
                "Aino",
                "--comment",
                "on it",
                "--store",
                str(store_copy),
            ]
        )
        == 0
    )
    assert (
        main(["alerts", "list", "--state", "acknowledged", "--json", "--store", str(store_copy)])
        == 0
    )
    acked = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [(r["id"], r["acknowledged_by"], r["comment"]) for r in acked] == [
        (first, "Aino", "on it")
    ]
    # without --by, the operating-system user, and the trail says `via cli`
    monkeypatch.setenv("LOGNAME", "ops-shift")
    monkeypatch.setenv("USER", "ops-shift")
    cli = ["--comment", "crew called", "--store", str(store_copy)]
    assert main(["alerts", "comment", str(first), *cli]) == 0
    assert "recorded as ops-shift (via cli)" in capsys.readouterr().out
    trail = alert_trail(ops_database(store_copy), first)
    assert trail.row(-1, named=True) | {"occurred_at": None} == {
        "occurred_at": None, "action": "commented", "actor": "ops-shift", "actor_email": None,
        "actor_subject": None, "via": "cli", "state_before": "acknowledged",
        "state_after": "acknowledged", "comment": "crew called"}
    assert (
        main(
            [
                "alerts",
                "resolve",
                "99999",
                "--by",
                "A",
                "--comment",
                "x",
                "--store",
                str(store_copy),
            ]
        )
        == 2
    )
    assert main(["alerts", "evaluate", "--store", str(store_copy)]) == 0
    assert "0 new alerts" in capsys.readouterr().out
    (tmp_path / "bad.yml").write_text(BAD_RULES)
    assert (
        main(["alerts", "rules", "validate", "--rules", str(tmp_path), "--store", str(store_copy)])
        == 2
    )
    assert "bad.yml line 11" in capsys.readouterr().err
