"""Alerts for operations: rules beside the indicators, evaluated on the same definitions.

Rules live in alerts/*.yml (spec.py is the closed schema; loader.py reports problems with
file and line); evaluate.py evaluates them on an analytical snapshot and merge.py writes
one alert per rule × place × episode into the operational database (observatory/opsdb);
lifecycle.py acknowledges, assigns, comments and resolves; outbox.py and notify.py send
webhooks and emails exactly once. `observatory alerts ...` (observatory/cli_alerts.py)
drives it all.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

# Each public name and the submodule it lives in. They load on first use (PEP 562), so
# `observatory alerts list` does not import the evaluation engine and its libraries.
_EXPORTS = {
    "Evaluation": "evaluate", "evaluate": "evaluate", "evaluate_published": "evaluate",
    "evaluate_published_step": "evaluate", "load_checked_rules": "evaluate",
    "AlertActionError": "lifecycle", "acknowledge": "lifecycle", "act": "lifecycle",
    "act_on_store": "lifecycle", "add_comment": "lifecycle", "alert_trail": "lifecycle",
    "assign": "lifecycle", "list_alerts": "lifecycle", "resolve": "lifecycle",
    "AlertRuleError": "loader", "RuleSet": "loader", "alerts_dir": "loader",
    "load_rules": "loader", "ChannelSpec": "spec", "RuleSpec": "spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """A public name (from its submodule) or a submodule itself, imported on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"observatory.alerts.{_EXPORTS[name]}"), name)
    elif importlib.util.find_spec(f"observatory.alerts.{name}") is not None:
        value = importlib.import_module(f"observatory.alerts.{name}")
    else:
        raise AttributeError(f"module 'observatory.alerts' has no attribute {name!r}")
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Where a public name is also a submodule's name (`alerts.X` the function, `alerts/X.py`
    its module), importing the submodule binds the function, as an eager import did."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (name in _EXPORTS and _EXPORTS[name] == name
                and isinstance(value, types.ModuleType)):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
