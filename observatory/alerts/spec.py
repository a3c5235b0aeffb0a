"""The closed schema of alert rules and notification channels (files under alerts/).

A rules file holds `rules:` (a list) and optionally `channels:` (a list). One model covers
every rule kind; which keys a kind needs or allows is the table `KIND_KEYS`, checked by
the loader so every problem is reported with its file and line.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["threshold", "target_breach", "anomaly", "worsening", "stale_source",
               "sensor_silent"]
Severity = Literal["info", "warning", "critical"]
PlaceKind = Literal["cell", "district", "station", "whole"]
SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "critical": 3}
# Where a place kind reads indicator values: resolution of indicator_results (-1 = whole).
PLACE_RESOLUTION: dict[str, int] = {"cell": 10, "district": 7, "whole": -1}
DISTRICT_RESOLUTION = 7

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
    url: str = Field(pattern=r"^https?://")


class EmailChannel(_Closed):
    host: str
    port: int = 25
    sender: str
    to: list[str] = Field(min_length=1)


class ChannelSpec(_Closed):
    """Where notifications go: a webhook (JSON POST) or an SMTP server."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    min_severity: Severity = "warning"
    retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(0.5, ge=0)
    timeout_seconds: float = Field(5.0, gt=0)


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
