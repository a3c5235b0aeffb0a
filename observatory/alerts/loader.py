"""Load every rules file under a folder; report every problem at once, with file and line.

Problems of the files stop everything. Problems of the place the rules run (a channel's
secret that is not set there, a resolved webhook URL that is refused) are `secret_problems`:
`observatory alerts rules validate` reports them with the others, while an evaluation goes
on and the notification fails with the same message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from observatory.alerts.spec import (
    CHANNEL_ERROR,
    KIND_KEYS,
    ChannelSpec,
    RuleSpec,
    Secrets,
    reference_problems,
    template_problems,
)
from observatory.errors import InputError
from observatory.registry import Registry
from observatory.registry.loader import Loc, _did_you_mean, _display, _line_of, read_yaml
from observatory.settings import REPO_ROOT

ALERTS_ENV = "OBSERVATORY_ALERTS"
DEFAULT_ALERTS = REPO_ROOT / "alerts"
_ALWAYS = {"name", "kind", "severity", "owner", "message", "label", "theme", "pending",
           "keep_firing", "notify"}
# Keys whose value may be (or be mistaken for) a secret: their errors never echo it.
_SECRET_KEYS = {"url", "url_from", "username_from", "password_from"}
# Secrets people may try to write in clear, and the key that references them instead.
_NEVER_HERE = {"password": "password_from", "username": "username_from", "token": "url_from"}


class AlertRuleError(InputError):
    """One or more alert rule files are invalid; `problems` lists them all."""

    def __init__(self, problems: list[str], *, folder: str) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__("\n".join([f"{len(problems)} {noun} in {folder}"]
                                   + [f"  {p}" for p in problems]))


def alerts_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The rules folder: an explicit path, else $OBSERVATORY_ALERTS, else alerts/."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ALERTS_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_ALERTS


@dataclass
class RuleSet:
    """The valid rules and channels by name, and the problems of the others."""

    folder: Path
    rules: dict[str, RuleSpec] = field(default_factory=dict)
    channels: dict[str, ChannelSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # rule name -> its file
    secret_problems: list[str] = field(default_factory=list)  # depend on where rules run

    def raise_if_problems(self, *, secrets: bool = False) -> None:
        """Raise one AlertRuleError listing every problem found (and, with `secrets`, every
        secret that cannot be resolved here)."""
        problems = self.problems + (self.secret_problems if secrets else [])
        if problems:
            raise AlertRuleError(problems, folder=_display(self.folder) + "/")


class _File:
    def __init__(self, path: Path, lines: dict[Loc, int]) -> None:
        self.path, self.lines, self.messages = path, lines, []
        self.secret_messages: list[str] = []

    def add(self, message: str, loc: Loc, *, secret: bool = False) -> None:
        line = _line_of(self.lines, loc, 1)
        found = self.secret_messages if secret else self.messages
        found.append(f"{_display(self.path)} line {line}: {message}")


def _schema_message(error: dict[str, object], model: type[BaseModel]) -> str:
    loc = [str(p) for p in error["loc"]]  # type: ignore[attr-defined]
    where = ".".join(loc)
    if error["type"] == "extra_forbidden":
        if loc[-1] in _NEVER_HERE and model is ChannelSpec:
            return (f"`{where}`: a secret never goes in a rules file; set it in an environment "
                    f"variable (or .streamlit/secrets.toml) and give that variable's name as "
                    f"`{_NEVER_HERE[loc[-1]]}`.")
        return (f"unknown key `{loc[-1]}`.{_did_you_mean(loc[-1], model.model_fields)} "
                "The schema is closed.")
    if error["type"] == "missing":
        return f"`{where}` is missing; every {model.__name__[:-4].lower()} declares it."
    if error["type"] == CHANNEL_ERROR or _SECRET_KEYS & set(loc):
        return f"`{where}`: {error['msg']}"  # no `got ...`: the input may be a secret
    return f"`{where}`: {error['msg']} (got {error.get('input')!r})."


def _validated(model: type[BaseModel], body: object, problems: _File,
               loc: Loc) -> BaseModel | None:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(_schema_message(error, model), (*loc, *error["loc"]))
        return None


def _kind_problems(rule: RuleSpec, body: dict[str, object], problems: _File, loc: Loc,
                   registry: Registry | None) -> None:
    required, optional = KIND_KEYS[rule.kind]
    given = set(body) - _ALWAYS
    for key in sorted(required - given):
        problems.add(f"a `{rule.kind}` rule needs `{key}`.", loc)
    for key in sorted(given - required - optional):
        problems.add(f"`{key}` does not apply to a `{rule.kind}` rule; remove it.", (*loc, key))
    if rule.kind == "threshold":
        _threshold_problems(rule, problems, loc)
    for message in template_problems(rule.message):
        problems.add(message, (*loc, "message"))
    if rule.indicator and registry is not None:
        _indicator_problems(rule, problems, loc, registry)


def _threshold_problems(rule: RuleSpec, problems: _File, loc: Loc) -> None:
    if (rule.above is None) == (rule.below is None):
        problems.add("a threshold rule gives exactly one of `above` and `below`.", loc)
    if (rule.indicator is None) == (rule.variable is None):
        problems.add("a threshold rule watches exactly one of `indicator` (a cell, district "
                     "or whole-area value) and `variable` (a station's readings).", loc)
    if rule.variable and rule.place not in (None, "station"):
        problems.add("readings are watched per station: use `place: station`.",
                     (*loc, "place"))
    if rule.indicator and rule.place == "station":
        problems.add("an indicator has cells, districts and a whole area, not stations.",
                     (*loc, "place"))
    if rule.indicator and rule.window:
        problems.add("`window` applies to readings (`variable`), not to indicators.",
                     (*loc, "window"))


def _indicator_problems(rule: RuleSpec, problems: _File, loc: Loc,
                        registry: Registry) -> None:
    loaded = registry.specs.get(str(rule.indicator))
    if loaded is None:
        hint = _did_you_mean(str(rule.indicator), registry.specs)
        problems.add(f"unknown indicator `{rule.indicator}`.{hint} (`observatory indicators "
                     "list` shows them)", (*loc, "indicator"))
        return
    spec = loaded.spec
    if rule.kind in ("target_breach", "worsening") and spec.direction == "neutral":
        problems.add(f"`{spec.name}` has no better direction (direction: neutral), so it can "
                     f"neither worsen nor miss a target.", (*loc, "indicator"))
    if rule.kind == "target_breach" and not spec.targets:
        problems.add(f"`{spec.name}` declares no `targets`; add one to its definition.",
                     (*loc, "indicator"))
    if rule.kind == "anomaly" and rule.place == "cell":
        problems.add("forecasts exist for the whole area and districts: use `place: whole` "
                     "or `place: district`.", (*loc, "place"))


def _parse(path: Path) -> tuple[dict[str, object] | None, _File]:
    data, lines, syntax = read_yaml(path)
    problems = _File(path, lines)
    if syntax is not None:
        problems.messages.append(syntax)
        return None, problems
    if not isinstance(data, dict) or not set(data) <= {"rules", "channels"} or not data:
        problems.add("a rules file holds `rules:` (a list) and optionally `channels:`.", ())
        return None, problems
    for key in ("rules", "channels"):
        if not isinstance(data.get(key, []), list):
            problems.add(f"`{key}:` must be a list.", (key,))
            return None, problems
    return data, problems


def _load_channel(body: object, loc: Loc, problems: _File, ruleset: RuleSet,
                  secrets: Secrets) -> None:
    channel = _validated(ChannelSpec, body, problems, loc)
    if not isinstance(channel, ChannelSpec):
        return
    if (channel.webhook is None) == (channel.email is None):
        problems.add("a channel gives exactly one of `webhook` and `email`.", loc)
    elif channel.name in ruleset.channels:
        problems.add(f"channel `{channel.name}` is defined twice.", loc)
    else:
        ruleset.channels[channel.name] = channel
        for key, message in reference_problems(channel, secrets):
            problems.add(f"channel `{channel.name}`: {message}", (*loc, *key), secret=True)


def _load_file(path: Path, ruleset: RuleSet, registry: Registry | None,
               notify: list[tuple[RuleSpec, _File, Loc]], secrets: Secrets) -> None:
    data, problems = _parse(path)
    for index, body in enumerate((data or {}).get("channels") or []):
        _load_channel(body, ("channels", index), problems, ruleset, secrets)
    for index, body in enumerate((data or {}).get("rules") or []):
        loc: Loc = ("rules", index)
        rule = _validated(RuleSpec, body, problems, loc)
        if not isinstance(rule, RuleSpec):
            continue
        before = len(problems.messages)
        _kind_problems(rule, body, problems, loc, registry)
        if rule.name in ruleset.rules:
            problems.add(f"rule `{rule.name}` is already defined in "
                         f"{_display(ruleset.files[rule.name])}; names are unique.",
                         (*loc, "name"))
        elif len(problems.messages) == before:
            ruleset.rules[rule.name] = rule
            ruleset.files[rule.name] = path
            notify.append((rule, problems, loc))
    ruleset.problems.extend(problems.messages)
    ruleset.secret_problems.extend(problems.secret_messages)


def load_rules(folder: Path, *, registry: Registry | None = None,
               secrets: Secrets | None = None) -> RuleSet:
    """Every rule and channel under `folder` (recursively); problems collected, not raised.

    With a `registry`, rules on indicators are checked against their definitions. Channel
    secrets are looked up in `secrets` (default: this environment and secrets.toml).
    """
    ruleset = RuleSet(folder=folder)
    if not folder.is_dir():
        ruleset.problems.append(f"{_display(folder)}: no such folder of alert rules.")
        return ruleset
    notify: list[tuple[RuleSpec, _File, Loc]] = []
    secrets = secrets or Secrets()
    for path in sorted(folder.rglob("*.yml")) + sorted(folder.rglob("*.yaml")):
        _load_file(path, ruleset, registry, notify, secrets)
    for rule, problems, loc in notify:  # channels may be declared in any file
        for index, name in enumerate(rule.notify):
            if name not in ruleset.channels:
                hint = _did_you_mean(name, ruleset.channels)
                problems.messages.clear()
                problems.add(f"unknown channel `{name}`.{hint}", (*loc, "notify", index))
                ruleset.problems.extend(problems.messages)
                ruleset.rules.pop(rule.name, None)
    return ruleset
