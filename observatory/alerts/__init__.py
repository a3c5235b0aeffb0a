"""Alerts for operations: rules beside the indicators, evaluated on the same definitions.

Rules live in alerts/*.yml (spec.py is the closed schema; loader.py reports problems with
file and line); evaluate.py evaluates them on an analytical snapshot and merge.py writes
one alert per rule × place × episode into the operational database (observatory/opsdb);
lifecycle.py acknowledges, assigns, comments and resolves; outbox.py and notify.py send
webhooks and emails exactly once. `observatory alerts ...` (observatory/cli_alerts.py)
drives it all.
"""

from observatory.alerts.evaluate import (
    Evaluation,
    evaluate,
    evaluate_published,
    evaluate_published_step,
    load_checked_rules,
)
from observatory.alerts.lifecycle import (
    AlertActionError,
    acknowledge,
    act,
    act_on_store,
    add_comment,
    alert_trail,
    assign,
    list_alerts,
    resolve,
)
from observatory.alerts.loader import AlertRuleError, RuleSet, alerts_dir, load_rules
from observatory.alerts.spec import ChannelSpec, RuleSpec

__all__ = [
    "AlertActionError",
    "AlertRuleError",
    "ChannelSpec",
    "Evaluation",
    "RuleSet",
    "RuleSpec",
    "acknowledge",
    "act",
    "act_on_store",
    "add_comment",
    "alert_trail",
    "alerts_dir",
    "assign",
    "evaluate",
    "evaluate_published",
    "evaluate_published_step",
    "list_alerts",
    "load_checked_rules",
    "load_rules",
    "resolve",
]
