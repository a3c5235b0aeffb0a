"""The closed schema of alert rules and notification channels (files under alerts/).

A rules file holds `rules:` (a list) and optionally `channels:` (a list). One model covers
every rule kind; which keys a kind needs or allows is the table `KIND_KEYS`, checked by
the loader so every problem is reported with its file and line.

A channel's secrets (a webhook URL with its token, an SMTP login) are never written in a
rules file: the file names them (`url_from: OPS_WEBHOOK_URL`, `password_from: ...`) and
`Secrets` resolves them where the rules run, from the environment or secrets.toml. People
and the outbox see only `url_to_origin` of a URL.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from observatory.settings import REPO_ROOT, SECRETS_ENV

Kind = Literal["threshold", "target_breach", "anomaly", "worsening", "stale_source",
               "sensor_silent"]
Severity = Literal["info", "warning", "critical"]
PlaceKind = Literal["cell", "district", "station", "whole"]
SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "critical": 3}
# Where a place kind reads indicator values: resolution of indicator_results (-1 = whole).
PLACE_RESOLUTION: dict[str, int] = {"cell": 10, "district": 7, "whole": -1}
DISTRICT_RESOLUTION = 7
Loc = tuple[str | int, ...]
# Channel secrets: see `Secrets`. Errors of type CHANNEL_ERROR never echo their input.
SECRETS_TABLE = "notifications"
REFERENCE_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
CHANNEL_ERROR = "channel"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# A path segment this long mixing letters and digits is taken for a token (Slack, Teams
# and Discord webhooks carry theirs in the path, not in the query).
TOKEN_MIN_LENGTH = 16

# kind: (required keys, optional keys) beyond the keys every rule has.
_COMMON_OPTIONAL = {"label", "theme", "pending", "keep_firing", "notify"}
KIND_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "threshold": (set(), {"indicator", "variable", "window", "place", "above", "below"}),
    "target_breach": ({"indicator"}, {"place"}),
    "anomaly": ({"indicator"}, {"place"}),
    "worsening": ({"indicator", "periods"}, {"place"}),
    "stale_source": (set(), {"sources", "grace_days"}),
    "sensor_silent": ({"hours"}, {"variable"}),
}
# Fields a message template may use, e.g. "{place}: {value:.0f} {unit} (limit {threshold})";
# `value` is the latest value of the episode, `peak` its worst.
TEMPLATE_FIELDS = frozenset({"rule", "label", "place", "value", "peak", "threshold", "unit",
                             "started_at", "ended_at", "indicator", "variable", "severity",
                             "owner"})


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSpec(_Closed):
    """One alert rule as operations staff declare it beside the indicators."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    severity: Severity
    owner: str = Field(min_length=1)
    message: str = Field(min_length=1)
    label: str | None = None
    theme: str | None = None
    indicator: str | None = None
    variable: str | None = None
    window: Literal["hour", "day"] | None = None
    place: PlaceKind | None = None
    above: float | None = None
    below: float | None = None
    periods: int | None = Field(None, ge=1)
    hours: float | None = Field(None, gt=0)
    sources: list[str] | None = None
    grace_days: float = Field(0, ge=0)
    pending: int = Field(1, ge=1, description="consecutive breaching slots before firing")
    keep_firing: int = Field(1, ge=1, description="consecutive clear slots before resolving")
    notify: list[str] = []

    @property
    def title(self) -> str:
        """The label, else the name."""
        return self.label or self.name.replace("_", " ")


class WebhookChannel(_Closed):
    """A JSON POST. The URL usually carries a token, so the file names where it lives
    (`url_from`: an environment variable or a secrets.toml key); a literal `url` is kept
    for URLs that carry no secret (a local relay, a test server)."""

    url: str | None = None
    url_from: str | None = None

    @field_validator("url")
    @classmethod
    def _literal_url_carries_no_secret(cls, url: str) -> str:
        problem = literal_url_problem(url) or webhook_url_problem(url)
        if problem:
            raise PydanticCustomError(CHANNEL_ERROR, problem)
        return url

    @field_validator("url_from")
    @classmethod
    def _reference_is_a_name(cls, name: str) -> str:
        return reference_name(name, key="url_from")

    @model_validator(mode="after")
    def _one_source(self) -> WebhookChannel:
        if (self.url is None) == (self.url_from is None):
            raise PydanticCustomError(
                CHANNEL_ERROR, "a webhook gives exactly one of `url_from` (the name of an "
                "environment variable or secrets.toml key holding the URL) and `url` (only "
                "for a URL without a token).")
        return self


class EmailChannel(_Closed):
    """An SMTP server; the login, if any, is referenced by name, never written here."""

    host: str
    port: int | None = Field(None, ge=1, le=65535, description="default 465 with tls, "
                             "587 with starttls, else 25")
    sender: str
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    tls: bool = False
    username_from: str | None = None
    password_from: str | None = None

    @field_validator("username_from", "password_from")
    @classmethod
    def _reference_is_a_name(cls, name: str, info: ValidationInfo) -> str:
        return reference_name(name, key=str(info.field_name))

    @model_validator(mode="after")
    def _login_is_complete_and_encrypted(self) -> EmailChannel:
        if self.starttls and self.tls:
            raise PydanticCustomError(CHANNEL_ERROR, "give one of `starttls: true` (port "
                                      "587) and `tls: true` (port 465), not both.")
        if (self.username_from is None) != (self.password_from is None):
            raise PydanticCustomError(CHANNEL_ERROR, "an SMTP login needs both "
                                      "`username_from` and `password_from`.")
        if self.password_from and not (self.starttls or self.tls) and not is_local(self.host):
            raise PydanticCustomError(CHANNEL_ERROR, "the password would cross the network in "
                                      "clear: set `starttls: true` (port 587) or `tls: true` "
                                      "(port 465).")
        return self

    @property
    def smtp_port(self) -> int:
        """The port given, else the usual one for the encryption chosen."""
        return self.port or (465 if self.tls else 587 if self.starttls else 25)


class ChannelSpec(_Closed):
    """Where notifications go: a webhook (JSON POST) or an SMTP server."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    min_severity: Severity = "warning"
    retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(0.5, ge=0)
    timeout_seconds: float = Field(5.0, gt=0)


# --- Secrets: referenced by name, resolved where the rules run, never shown ---------------


def is_local(host: str | None) -> bool:
    """Whether `host` is this machine (where plain http and an unencrypted login may go)."""
    return (host or "").lower().strip("[]") in LOCAL_HOSTS


def reference_name(name: str, *, key: str) -> str:
    """`name` if it can name an environment variable; a message that never echoes it."""
    if re.fullmatch(REFERENCE_PATTERN, name):
        return name
    raise PydanticCustomError(
        CHANNEL_ERROR, f"`{key}` takes the NAME of an environment variable or secrets.toml key "
        "(letters, digits and `_`, e.g. OPS_WEBHOOK_URL), not the secret itself; put the "
        "value there.")


def _looks_like_token(segment: str) -> bool:
    return (len(segment) >= TOKEN_MIN_LENGTH and any(c.isdigit() for c in segment)
            and any(c.isalpha() for c in segment))


def literal_url_problem(url: str) -> str | None:
    """Why a URL written in a rules file would put a secret in clear there, if it would."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        found = "carries credentials (`user:password@`)"
    elif parts.query or parts.fragment:
        found = "carries a query string"
    elif any(_looks_like_token(segment) for segment in parts.path.split("/")):
        found = "has a path segment that looks like a token"
    else:
        return None
    return (f"a literal webhook `url` {found}, which would keep a secret in clear in the rules "
            "file: set the URL in an environment variable (or .streamlit/secrets.toml) and "
            "name it here, e.g. `url_from: OPS_WEBHOOK_URL`.")


def url_to_origin(url: str) -> str:
    """`scheme://host[:port]` of a URL: no credentials, path, query or token."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme or '?'}://{host}" + (f":{port}" if port else "")


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook must not be sent to `url` (it is not https, or not a URL), if it must not;
    the message shows at most the origin."""
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return "the webhook URL contains spaces, control characters or a backslash."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the webhook URL is not an `https://host/...` URL."
    if parts.scheme == "http" and not is_local(parts.hostname):
        return (f"the webhook URL goes to {url_to_origin(url)} in clear: webhooks need "
                "`https://` (plain `http://` only to 127.0.0.1, localhost or ::1).")
    return None


def secrets_path(environ: Mapping[str, str] | None = None) -> Path:
    """secrets.toml: $OBSERVATORY_SECRETS, else .streamlit/secrets.toml of the repository."""
    env = (os.environ if environ is None else environ).get(SECRETS_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / ".streamlit" / "secrets.toml"


def _read_toml(path: Path, *, explicit: bool) -> tuple[dict[str, object], str | None]:
    if not path.exists():
        return {}, (f"no such file (${SECRETS_ENV} names it)" if explicit else None)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), None
    except tomllib.TOMLDecodeError as exc:  # its message has the line, not the text
        return {}, f"not valid TOML ({exc})"
    except OSError as exc:
        return {}, f"cannot be read ({exc.strerror})"


class Secrets:
    """Where a reference is looked up: an environment variable of that name, then a top-level
    key of secrets.toml, then a key of its `[notifications]` table. The file is read once,
    when first needed."""

    def __init__(self, *, environ: Mapping[str, str] | None = None,
                 path: Path | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.explicit = path is not None or SECRETS_ENV in self.environ
        self.path = path or secrets_path(self.environ)
        self._toml: dict[str, object] | None = None
        self.problem: str | None = None

    def _candidates(self, name: str) -> list[object]:
        if self._toml is None:
            self._toml, self.problem = _read_toml(self.path, explicit=self.explicit)
        table = self._toml.get(SECRETS_TABLE)
        return [self._toml.get(name), table.get(name) if isinstance(table, dict) else None]

    def value(self, name: str) -> str | None:
        """The secret named `name`, or None when it is nowhere (or empty)."""
        if self.environ.get(name):
            return self.environ[name]
        return next((v for v in self._candidates(name) if isinstance(v, str) and v), None)

    def unresolved(self, name: str) -> str:
        """Why `name` resolves to nothing, saying what to set."""
        where = _display(self.path)
        if any(v is not None and not isinstance(v, str) for v in self._candidates(name)):
            return f"`{name}` in {where} is not a string; quote its value."
        text = (f"`{name}` is not set: set the environment variable {name}, or add "
                f"`{name} = \"...\"` to {where} (top level or under [{SECRETS_TABLE}]).")
        return text + (f" ({where}: {self.problem})" if self.problem else "")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def reference_problems(channel: ChannelSpec, secrets: Secrets) -> list[tuple[Loc, str]]:
    """What stops `channel` from sending here and now, each with the key it is about: a
    reference that resolves to nothing, a resolved URL that is refused."""
    found: list[tuple[Loc, str]] = []
    if channel.webhook is not None and channel.webhook.url_from:
        name = channel.webhook.url_from
        url = secrets.value(name)
        problem = secrets.unresolved(name) if url is None else webhook_url_problem(url)
        if problem:
            found.append((("webhook", "url_from"), problem if url is None
                          else f"`{name}`: {problem}"))
    if channel.email is not None:
        for key in ("username_from", "password_from"):
            name = getattr(channel.email, key)
            if name and secrets.value(name) is None:
                found.append((("email", key), secrets.unresolved(name)))
    return found


def webhook_url_of(channel: ChannelSpec, secrets: Secrets) -> str | None:
    """The channel's webhook URL, resolved (None when unresolved or not a webhook)."""
    hook = channel.webhook
    if hook is None:
        return None
    return hook.url if hook.url is not None else secrets.value(str(hook.url_from))


def login_of(channel: ChannelSpec, secrets: Secrets) -> tuple[str, str] | None:
    """(user name, password) of the channel's SMTP login, resolved; None without a login."""
    email = channel.email
    if email is None or email.username_from is None or email.password_from is None:
        return None
    user, password = secrets.value(email.username_from), secrets.value(email.password_from)
    return (user, password) if user is not None and password is not None else None


def template_problems(template: str) -> list[str]:
    """What is wrong with a message template: unknown fields, bad braces."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"message template is malformed ({exc}); double braces to show `{{`."]
    problems = []
    for _, field, _, _ in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            known = ", ".join(sorted(TEMPLATE_FIELDS))
            problems.append(f"message template uses `{{{field}}}`; known fields: {known}.")
    return problems
