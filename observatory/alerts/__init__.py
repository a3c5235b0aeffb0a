"""Alerts for operations: rules beside the indicators, evaluated on the same definitions.

Rules live in alerts/*.yml (spec.py is the closed schema; loader.py reports problems with
file and line); evaluate.py turns them into alerts with one per rule × place × episode;
lifecycle.py acknowledges, assigns, comments and resolves; notify.py sends webhooks and
emails. `observatory alerts ...` (observatory/cli_alerts.py) drives it all.
"""

from observatory.alerts.evaluate import Evaluation, evaluate, evaluate_step, load_checked_rules
from observatory.alerts.lifecycle import (
    AlertActionError,
    acknowledge,
    act_in_store,
    add_comment,
    alert_events,
    assign,
    list_alerts,
    resolve,
)
from observatory.alerts.loader import AlertRuleError, RuleSet, alerts_dir, load_rules
from observatory.alerts.spec import ChannelSpec, RuleSpec

__all__ = [
    "AlertActionError", "AlertRuleError", "ChannelSpec", "Evaluation", "RuleSet", "RuleSpec",
    "acknowledge", "act_in_store", "add_comment", "alert_events", "alerts_dir", "assign",
    "evaluate", "evaluate_step", "list_alerts", "load_checked_rules", "load_rules", "resolve",
]
