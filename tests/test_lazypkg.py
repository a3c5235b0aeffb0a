"""Lazy packages: names load on first use, and a function keeps its same-named module's name."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, check=True).stdout.strip()


def test_a_public_function_survives_its_module_being_imported_first() -> None:
    out = _run("""
        import observatory.views.registry_status        # the module, imported directly
        import observatory.alerts.evaluate
        import observatory.views as views, observatory.alerts as alerts
        print(callable(views.registry_status), callable(alerts.evaluate))
    """)
    assert out == "True True"


def test_names_load_on_first_use_and_unknown_ones_fail() -> None:
    out = _run("""
        import sys
        import observatory.alerts as alerts
        print("observatory.alerts.evaluate" in sys.modules)
        alerts.list_alerts
        print("observatory.alerts.evaluate" in sys.modules,
              "observatory.alerts.lifecycle" in sys.modules)
        print(alerts.spec.__name__)                       # a submodule by attribute
        try:
            alerts.nothing_here
        except AttributeError as error:
            print("AttributeError")
    """)
    assert out.splitlines() == ["False", "False True", "observatory.alerts.spec",
                                "AttributeError"]
