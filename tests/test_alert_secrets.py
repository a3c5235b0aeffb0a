"""Notification secrets stay secret: a webhook URL (with its token) and an SMTP login are
named in the rules file, resolved from the environment or secrets.toml at send time, and
never written to the operational database; plain http leaves only for this machine.

The servers are real and local (http.server, a socket SMTP server on 127.0.0.1); only
STARTTLS and implicit TLS, which need a certificate, are checked on a stand-in smtplib.
"""

from __future__ import annotations

import base64
import http.client
import json
import smtplib
import socketserver
import ssl
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from observatory.alerts import RuleSet, load_rules
from observatory.alerts.notify import send_once, target_of
from observatory.alerts.outbox import deliver_pending, queue_notifications
from observatory.alerts.spec import ChannelSpec, Secrets
from observatory.cli import main
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import notification_attempts, notification_outbox
from tests.conftest_ops import insert_alert

TOKEN = f"tok{uuid.uuid4().hex}"  # random: found nowhere unless copied from the secret
RULE = """\
rules:
  - name: no2
    kind: threshold
    variable: no2
    above: 200
    severity: critical
    owner: ops
    message: "NO2 at {place}"
    notify: [CHANNEL]
"""


# A webhook channel whose URL comes from $OPS_WEBHOOK_URL, tried once.
HOOK_FROM_ENV = """\
channels:
  - name: hook
    retries: 0
    webhook: {url_from: OPS_WEBHOOK_URL}
"""


@pytest.fixture(autouse=True)
def _own_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty secrets.toml of the test's own: a developer's real one plays no part."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("OBSERVATORY_SECRETS", str(path))
    return path


class _Receiver(BaseHTTPRequestHandler):
    """A webhook that checks its token, as a chat or incident service does."""

    posts: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Receiver.posts.append((self.path, body))
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/landing")
        else:
            self.send_response(200 if TOKEN in self.path else 403)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (EHLO with AUTH PLAIN) to log in and accept one message."""

    logins: list[tuple[str, str]] = []
    messages: list[str] = []

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 stub")
        data: list[str] | None = None
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if data is not None:
                if line == ".":
                    _Smtp.messages.append("\n".join(data))
                    data = None
                    self._reply("250 queued")
                else:
                    data.append(line)
                continue
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self._reply("250-stub\r\n250 AUTH PLAIN")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(rest.split()[1]).decode().split("\0")
                _Smtp.logins.append((user, password))
                self._reply("235 2.7.0 accepted")
            elif verb == "DATA":
                data = []
                self._reply("354 go on")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


def _serve(server: socketserver.BaseServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_port() -> Iterator[int]:
    _Receiver.posts = []
    yield from _serve(HTTPServer(("127.0.0.1", 0), _Receiver))


@pytest.fixture
def smtp_port() -> Iterator[int]:
    _Smtp.logins, _Smtp.messages = [], []
    yield from _serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp))


def _rules(folder: Path, channel: str, channel_yaml: str) -> RuleSet:
    """Load a rules file with one rule notifying `channel`, declared by `channel_yaml`."""
    (folder / "ops.yml").write_text(RULE.replace("CHANNEL", channel) + channel_yaml)
    return load_rules(folder)


def _notify(ops: OpsDB, ruleset: RuleSet) -> int:
    """Queue a `fired` notification of one critical alert and deliver it; returns sent."""
    alert_id = insert_alert(ops, rule="no2", severity="critical")
    with ops.write() as conn:
        queue_notifications(conn, [(alert_id, "fired")], ruleset, now=datetime.now(UTC))
    return deliver_pending(ops, ruleset, max_wait=0)


def _stored_text(ops: OpsDB) -> str:
    """Every value of every column of the outbox and the attempt log, as text."""
    with ops.read() as conn:
        rows = [
            *conn.execute(sa.select(notification_outbox)),
            *conn.execute(sa.select(notification_attempts)),
        ]
    return "\n".join(str(value) for row in rows for value in row)


def _outbox(ops: OpsDB) -> sa.Row:
    with ops.read() as conn:
        return conn.execute(sa.select(notification_outbox)).one()


def _last_attempt(ops: OpsDB) -> sa.Row:
    with ops.read() as conn:
        return conn.execute(
            sa.select(notification_attempts).order_by(notification_attempts.c.attempt.desc())
        ).first()


def test_webhook_url_from_the_environment_is_used_and_never_stored(
    ops: OpsDB, hook_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{hook_port}/hooks/{TOKEN}?key={TOKEN}"
    monkeypatch.setenv("OPS_WEBHOOK_URL", url)
    ruleset = _rules(
        tmp_path,
        "ops-hook",
        """\
channels:
  - name: ops-hook
    webhook: {url_from: OPS_WEBHOOK_URL}
""",
    )
    assert not ruleset.problems and not ruleset.secret_problems
    assert _notify(ops, ruleset) == 1
    [(path, body)] = _Receiver.posts
    assert path == f"/hooks/{TOKEN}?key={TOKEN}" and body["alert"]["rule"] == "no2"
    target = f"ops-hook: http://127.0.0.1:{hook_port} (URL from OPS_WEBHOOK_URL)"
    assert _outbox(ops).target == target
    assert _outbox(ops).status == "sent"
    assert TOKEN not in _stored_text(ops)
    assert TOKEN not in (tmp_path / "ops.yml").read_text()


def test_secrets_toml_is_read_after_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('A = "top"\n[notifications]\nA = "table"\nB = "table"\nC = 3\n')
    secrets = Secrets(environ={"B": "env"}, path=path)
    assert [secrets.value(n) for n in ("A", "B", "C", "D")] == ["top", "env", None, None]
    assert "`C` in" in secrets.unresolved("C") and "not a string" in secrets.unresolved("C")
    assert 'set the environment variable D, or add `D = "..."` to' in secrets.unresolved("D")
    path.write_text('A = "unterminated\n')
    broken = Secrets(environ={}, path=path)
    assert broken.value("A") is None
    assert "not valid TOML" in broken.unresolved("A") and "line 1" in broken.unresolved("A")


def test_secrets_toml_path_comes_from_the_environment(
    _own_secrets_file: Path, hook_port: int, ops: OpsDB, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{hook_port}/hooks/{TOKEN}"
    _own_secrets_file.write_text(f'[notifications]\nOPS_WEBHOOK_URL = "{url}"\n')
    ruleset = _rules(
        tmp_path,
        "hook",
        """\
channels:
  - name: hook
    webhook: {url_from: OPS_WEBHOOK_URL}
""",
    )
    assert not ruleset.secret_problems
    assert _notify(ops, ruleset) == 1
    assert TOKEN not in _stored_text(ops)


def test_plain_http_to_another_host_is_refused_at_validation(tmp_path: Path) -> None:
    ruleset = _rules(
        tmp_path,
        "hook",
        """\
channels:
  - name: hook
    webhook:
      url: http://hooks.example.org/alerts
""",
    )
    problem, unknown = ruleset.problems  # the rule's channel is then unknown
    assert "ops.yml line 9: unknown channel `hook`." in unknown
    assert "ops.yml line 13: `webhook.url`: " in problem
    assert "goes to http://hooks.example.org in clear: webhooks need `https://`" in problem


def test_plain_http_from_a_reference_is_refused_and_never_sent(
    ops: OpsDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_WEBHOOK_URL", f"http://hooks.example.org/{TOKEN}")
    ruleset = _rules(tmp_path, "hook", HOOK_FROM_ENV)
    [problem] = ruleset.secret_problems
    assert (
        "ops.yml line 13: channel `hook`: `OPS_WEBHOOK_URL`: the webhook URL goes to "
        "http://hooks.example.org in clear: webhooks need `https://`" in problem
    )

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused URL was opened")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    assert _notify(ops, ruleset) == 0
    assert _outbox(ops).status == "failed"
    detail = _last_attempt(ops).detail
    assert detail.startswith("not sent: channel `hook`: ") and "webhooks need `https://`" in detail
    assert TOKEN not in _stored_text(ops) and TOKEN not in "\n".join(ruleset.secret_problems)


def test_unresolved_references_are_reported_with_file_and_line(
    ops: OpsDB, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = _rules(
        tmp_path,
        "hook",
        """\
channels:
  - name: hook
    retries: 0
    webhook: {url_from: MISSING_HOOK_URL}
  - name: mail
    email:
      host: mail.example.org
      sender: alerts@example.org
      to: [ops@example.org]
      starttls: true
      username_from: MISSING_SMTP_USER
      password_from: MISSING_SMTP_PASSWORD
""",
    )
    assert not ruleset.problems and set(ruleset.channels) == {"hook", "mail"}
    text = "\n".join(ruleset.secret_problems)
    assert (
        "ops.yml line 13: channel `hook`: `MISSING_HOOK_URL` is not set: set the environment "
        'variable MISSING_HOOK_URL, or add `MISSING_HOOK_URL = "..."` to ' in text
    )
    assert "ops.yml line 20: channel `mail`: `MISSING_SMTP_USER` is not set" in text
    assert "ops.yml line 21: channel `mail`: `MISSING_SMTP_PASSWORD` is not set" in text
    assert "(top level or under [notifications])" in text
    store = str(tmp_path / "no-store.duckdb")
    assert main(["alerts", "rules", "validate", "--rules", str(tmp_path), "--store", store]) == 2
    err = capsys.readouterr().err
    assert "ops.yml line 13: channel `hook`: `MISSING_HOOK_URL` is not set" in err
    assert _notify(ops, ruleset) == 0  # at send time: a failed attempt, not a crash
    detail = _last_attempt(ops).detail
    assert "not sent: channel `hook`: `MISSING_HOOK_URL` is not set" in detail


def test_validate_passes_once_the_reference_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPS_WEBHOOK_URL", f"https://hooks.example.org/{TOKEN}")
    folder = tmp_path / "rules"
    folder.mkdir()
    _rules(folder, "hook", "channels:\n  - name: hook\n    webhook: {url_from: OPS_WEBHOOK_URL}\n")
    store = str(tmp_path / "no-store.duckdb")
    assert main(["alerts", "rules", "validate", "--rules", str(folder), "--store", store]) == 0
    assert "1 alert rules and 1 channels valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("webhook", "says"),
    [
        (f"url: https://hooks.example.org/alerts?token={TOKEN}", "carries a query string"),
        (f"url: https://relay:{TOKEN}@hooks.example.org/", "carries credentials"),
        (f"url: https://hooks.example.org/services/T01/B02/{TOKEN}", "looks like a token"),
        (f"url_from: https://hooks.example.org/{TOKEN}", "takes the NAME of an environment"),
    ],
)
def test_a_secret_written_in_clear_is_refused_without_repeating_it(
    webhook: str, says: str, tmp_path: Path
) -> None:
    channel = f"channels:\n  - name: hook\n    webhook:\n      {webhook}\n"
    ruleset = _rules(tmp_path, "hook", channel)
    problem, _unknown_channel = ruleset.problems
    assert "ops.yml line 13: `webhook." in problem
    assert says in problem and TOKEN not in problem
    assert "url_from" in problem


def test_a_literal_password_or_an_unencrypted_login_is_refused(tmp_path: Path) -> None:
    ruleset = _rules(
        tmp_path,
        "mail",
        f"""\
channels:
  - name: mail
    email:
      host: mail.example.org
      sender: alerts@example.org
      to: [ops@example.org]
      password: {TOKEN}
  - name: mail2
    email:
      host: mail.example.org
      sender: alerts@example.org
      to: [ops@example.org]
      username_from: SMTP_USER
      password_from: SMTP_PASSWORD
""",
    )
    text = "\n".join(ruleset.problems)
    assert TOKEN not in text
    assert "ops.yml line 16: `email.password`: a secret never goes in a rules file" in text
    assert "give that variable's name as `password_from`" in text
    assert (
        "ops.yml line 18: `email`: the password would cross the network in clear: "
        "set `starttls: true` (port 587) or `tls: true` (port 465)." in text
    )


def test_smtp_login_from_references_reaches_a_local_server(
    ops: OpsDB, smtp_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_USER", "alerts-bot")
    monkeypatch.setenv("SMTP_PASSWORD", TOKEN)
    ruleset = _rules(
        tmp_path,
        "mail",
        f"""\
channels:
  - name: mail
    email:
      host: 127.0.0.1
      port: {smtp_port}
      sender: alerts@example.org
      to: [ops@example.org, duty@example.org]
      username_from: SMTP_USER
      password_from: SMTP_PASSWORD
""",
    )
    assert not ruleset.problems and not ruleset.secret_problems
    assert _notify(ops, ruleset) == 1
    assert _Smtp.logins == [("alerts-bot", TOKEN)]
    assert "Subject: [CRITICAL] no2 fired: whole area" in _Smtp.messages[-1]
    assert _outbox(ops).target == (
        f"mail: smtp://127.0.0.1:{smtp_port} → ops@example.org, duty@example.org"
    )
    assert TOKEN not in _stored_text(ops)


class _FakeSMTP:
    """Stands in for smtplib.SMTP: records what the sender asks of it, in order."""

    calls: list[tuple[object, ...]] = []

    def __init__(self, host: str, port: int, **kwargs: object) -> None:
        _FakeSMTP.calls.append((type(self).__name__, host, port, kwargs.get("context")))

    def __enter__(self) -> _FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        _FakeSMTP.calls.append(("quit",))

    def starttls(self, *, context: ssl.SSLContext | None = None) -> None:
        _FakeSMTP.calls.append(("starttls", context))

    def login(self, user: str, password: str) -> None:
        _FakeSMTP.calls.append(("login", user, password))

    def send_message(self, message: object) -> None:
        _FakeSMTP.calls.append(("send",))


class _FakeSMTPSSL(_FakeSMTP):
    pass


def _mail_channel(**encryption: bool) -> ChannelSpec:
    return ChannelSpec.model_validate(
        {
            "name": "mail",
            "email": {
                "host": "mail.example.org",
                "sender": "a@example.org",
                "to": ["ops@example.org"],
                "username_from": "SMTP_USER",
                "password_from": "SMTP_PASSWORD",
                **encryption,
            },
        }
    )


PAYLOAD = {
    "event": "fired",
    "alert": {"severity": "warning", "rule": "r", "place": "p", "message": "m"},
}


@pytest.mark.parametrize(
    ("encryption", "opened", "port"),
    [({"starttls": True}, "_FakeSMTP", 587), ({"tls": True}, "_FakeSMTPSSL", 465)],
)
def test_smtp_encrypts_before_logging_in(
    encryption: dict[str, bool], opened: str, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _FakeSMTP.calls = []
    monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", _FakeSMTPSSL)
    secrets = Secrets(environ={"SMTP_USER": "bot", "SMTP_PASSWORD": TOKEN})
    assert send_once(_mail_channel(**encryption), PAYLOAD, secrets=secrets) == (
        True,
        "sent to 1 recipients",
    )
    steps = [call[0] for call in _FakeSMTP.calls]
    if "starttls" in encryption:
        assert steps == ["_FakeSMTP", "starttls", "login", "send", "quit"]
        context = _FakeSMTP.calls[1][1]
    else:
        assert steps == ["_FakeSMTPSSL", "login", "send", "quit"]
        context = _FakeSMTP.calls[0][3]
    assert _FakeSMTP.calls[0][:3] == (opened, "mail.example.org", port)
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert ("login", "bot", TOKEN) in _FakeSMTP.calls


def test_a_redirect_is_not_followed(
    ops: OpsDB, hook_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_WEBHOOK_URL", f"http://127.0.0.1:{hook_port}/moved/{TOKEN}")
    ruleset = _rules(tmp_path, "hook", HOOK_FROM_ENV)
    assert _notify(ops, ruleset) == 0
    assert [path for path, _ in _Receiver.posts] == [f"/moved/{TOKEN}"]  # /landing never hit
    assert "HTTP Error 302" in _last_attempt(ops).detail
    assert TOKEN not in _stored_text(ops)


def test_an_error_quoting_the_url_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"https://hooks.example.org/hooks/{TOKEN}?key={TOKEN}"

    def quoting(self: object, request: urllib.request.Request, **kwargs: object) -> None:
        raise http.client.InvalidURL(f"URL can't contain control characters. {request.full_url!r}")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", quoting)
    channel = ChannelSpec.model_validate({"name": "hook", "webhook": {"url_from": "HOOK"}})
    ok, detail = send_once(channel, PAYLOAD, secrets=Secrets(environ={"HOOK": url}))
    assert not ok and detail.startswith("InvalidURL: ") and TOKEN not in detail
    assert target_of(channel, secrets=Secrets(environ={"HOOK": url})) == (
        "hook: https://hooks.example.org (URL from HOOK)"
    )
