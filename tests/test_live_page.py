"""The operations live page: it refreshes itself and shows new readings and alerts from
the newest snapshot within one rerun, without a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from observatory.alerts import list_alerts
from observatory.live import demo_stations, tick
from observatory.opsdb import ops_database
from observatory.settings import STORE_ENV
from observatory.ui import live as live_ui
from tests.signin import signed_in


def _live(app_script: Path) -> AppTest:
    at = signed_in(app_script, "operations", timeout=60).run()
    return at.switch_page("pages/operations/live.py").run()


def _values(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.metric]


def test_the_live_panel_reruns_itself() -> None:
    assert live_ui.REFRESH.total_seconds() <= 10
    assert getattr(live_ui.live_panel, "__wrapped__", None) is not None  # a fragment


def test_new_readings_and_alerts_show_on_the_next_run(
        store_copy: Path, app_script: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, str(store_copy))
    monkeypatch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
    at = _live(app_script)
    assert not at.exception, [e.value for e in at.exception]
    before = _values(at)
    assert "days ago" in before[0]  # the simulated history ends in 2024
    now = datetime.now(UTC).replace(microsecond=0)
    back = max(0, now.minute % 10 - 2)  # the latest minute of an NO2 episode (minutes 0-2)
    at_time = now - timedelta(minutes=back)
    tick(store_copy, demo_stations(store_copy), at=at_time, folder=tmp_path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    after = _values(at)
    assert after[0].endswith(("s ago", "min ago")) and "days" not in after[0], after
    assert after[1].startswith("15 of"), after  # 5 stations × 3 variables just reported
    texts = " ".join(df.value.to_csv() for df in at.dataframe)
    assert "no2_hourly_eu_limit" in texts
    fired = list_alerts(ops_database(store_copy)).filter(
        (pl.col("rule") == "no2_hourly_eu_limit") & (pl.col("state") == "firing")
        & (pl.col("started_at") >= at_time - timedelta(hours=1)))
    assert fired.height == 1, fired  # the simulated live episode raised it, not history
