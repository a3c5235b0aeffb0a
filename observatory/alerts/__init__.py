"""Alerts for operations: rules beside the indicators, evaluated on the same definitions.

Rules live in alerts/*.yml (spec.py is the closed schema; loader.py reports problems with
file and line); evaluate.py evaluates them on an analytical snapshot and merge.py writes
one alert per rule × place × episode into the operational database (observatory/opsdb);
lifecycle.py acknowledges, assigns, comments and resolves; outbox.py and notify.py send
webhooks and emails exactly once. `observatory alerts ...` (observatory/cli_alerts.py)
drives it all.
"""

from __future__ import annotations

from observatory.lazypkg import lazy

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

__getattr__ = lazy(__name__, _EXPORTS)
