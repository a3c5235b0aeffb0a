"""Alert rule files (errors with file and line), notifications to local servers, the CLI."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pytest

from observatory.alerts import load_rules
from observatory.alerts.notify import notify_channel
from observatory.alerts.spec import ChannelSpec
from observatory.alerts.tables import ensure_alert_tables
from observatory.cli import main
from observatory.registry import Registry
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
    assert {"no2_hourly_eu_limit", "pm25_daily_who_guideline", "source_stale"} <= set(
        ruleset.rules)


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


def test_webhook_and_email_with_retries_and_an_attempt_log(servers: tuple[int, int]) -> None:
    http_port, smtp_port = servers
    con = duckdb.connect()
    ensure_alert_tables(con)
    payload = {"event": "fired", "alert": {"id": 7, "rule": "no2", "severity": "critical",
                                           "place": "station S1", "message": "NO2 high"}}
    hook = ChannelSpec(name="ops-hook", webhook={"url": f"http://127.0.0.1:{http_port}/h"},
                       retries=2, backoff_seconds=0)
    mail = ChannelSpec(name="ops-mail", email={"host": "127.0.0.1", "port": smtp_port,
                                               "sender": "alerts@example.org",
                                               "to": ["ops@example.org"]})
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    assert notify_channel(con, hook, payload, now=now)
    assert notify_channel(con, mail, payload, now=now)
    attempts = con.execute("SELECT channel, attempt, ok FROM alert_notifications "
                           "ORDER BY channel, attempt").fetchall()
    assert attempts == [("ops-hook", 1, False), ("ops-hook", 2, True), ("ops-mail", 1, True)]
    assert _Hook.received[-1]["alert"]["rule"] == "no2"
    assert "Subject: [CRITICAL] no2 fired: station S1" in _Smtp.messages[-1]
    refused = ChannelSpec(name="down", webhook={"url": "http://127.0.0.1:9/"}, retries=1,
                          backoff_seconds=0, timeout_seconds=1)
    assert not notify_channel(con, refused, payload, now=now)
    assert con.execute("SELECT count(*) FROM alert_notifications WHERE channel = 'down' "
                       "AND NOT ok").fetchall()[0][0] == 2


def test_cli_lists_acknowledges_and_validates(store_copy: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "list", "--state", "firing", "--json", "--store",
                 str(store_copy)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["state"] == "firing" for r in rows)
    for key in ("id", "rule", "severity", "state", "place", "started_at", "ended_at", "value",
                "acknowledged_by", "comment"):
        assert key in rows[0]
    first = rows[0]["id"]
    assert main(["alerts", "ack", str(first), "--by", "Aino", "--comment", "on it",
                 "--store", str(store_copy)]) == 0
    assert main(["alerts", "list", "--state", "acknowledged", "--json", "--store",
                 str(store_copy)]) == 0
    acked = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [(r["id"], r["acknowledged_by"], r["comment"]) for r in acked] == [
        (first, "Aino", "on it")]
    assert main(["alerts", "resolve", "99999", "--by", "A", "--comment", "x", "--store",
                 str(store_copy)]) == 2
    assert main(["alerts", "evaluate", "--store", str(store_copy)]) == 0
    assert "0 new alerts" in capsys.readouterr().out
    (tmp_path / "bad.yml").write_text(BAD_RULES)
    assert main(["alerts", "rules", "validate", "--rules", str(tmp_path), "--store",
                 str(store_copy)]) == 2
    assert "bad.yml line 11" in capsys.readouterr().err
