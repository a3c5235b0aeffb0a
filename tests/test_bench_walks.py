"""The shipped walks benchmark: our walks agree with Valhalla's, and better than before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from observatory.bench.walks import agreement
from observatory.cli import main


def test_agreement_measures_relative_differences_and_rank() -> None:
    theirs = np.array([[0, 100, 200], [100, 0, 300], [200, 300, 0]], dtype=float)
    ours = theirs * np.array([[1, 1.1, 0.9], [1.1, 1, 1.0], [0.9, 1.0, 1]])
    figures = agreement(ours, theirs, subset=slice(None))
    assert figures["pairs"] == 6
    assert figures["median_abs_diff_pct"] == pytest.approx(10.0)  # 10, 10, 10, 10, 0, 0
    assert figures["longer_share_pct"] == pytest.approx(100 * 2 / 6, abs=0.1)
    assert figures["rank_corr"] == pytest.approx(1.0)


@pytest.mark.slow
def test_our_walks_match_valhallas_on_the_helsinki_landmarks(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's target: median |difference| ≤ 15 %, rank correlation ≥ 0.9."""
    assert main(["bench", "walks"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ours, before = result["accuracy"]["ours"], result["accuracy"]["before"]
    assert ours["landmarks"]["pairs"] == 110
    assert ours["landmarks"]["median_abs_diff_pct"] <= 15.0
    assert ours["landmarks"]["rank_corr"] >= 0.9
    # before the fix most walks were longer than the peer's; now about as many are shorter
    assert before["landmarks"]["longer_share_pct"] > 75
    assert ours["landmarks"]["longer_share_pct"] < 60
    assert ours["all"]["median_abs_diff_pct"] < before["all"]["median_abs_diff_pct"]
    # where both engines join the network at the same place (Valhalla, which has no
    # ground-level preference, puts some buildings into the metro's service tunnel), the
    # walks agree closely
    alike = ours["alike_snaps"]
    assert ours["peer_in_tunnel"] > 0 and alike["places"] >= 40
    assert alike["median_abs_diff_pct"] <= 2.0 and alike["rank_corr"] >= 0.95
    speed = result["speed"]
    assert speed["points"] > 1000 and speed["snap_ms"] > 0 and speed["peer_snap_ms"] > 0
