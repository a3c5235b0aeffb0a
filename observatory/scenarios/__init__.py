"""What-if scenarios for planners: add, close or move facilities and see walking access
change at once (observatory/scenarios/engine.py), with scenario files (spec.py) and their
before-and-after figures (outcome.py)."""

from observatory.scenarios import saved
from observatory.scenarios.engine import ScenarioError, WhatIf
from observatory.scenarios.outcome import Outcome, apply_scenario, crosswalk, outcome
from observatory.scenarios.spec import (
    Edit,
    Scenario,
    ScenarioFileError,
    dump_scenario,
    load_scenario,
)

__all__ = ["Edit", "Outcome", "Scenario", "ScenarioError", "ScenarioFileError", "WhatIf",
           "apply_scenario", "crosswalk", "dump_scenario", "load_scenario", "outcome", "saved"]
