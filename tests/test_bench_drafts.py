"""`observatory bench drafts` runs end to end on the session's store and reports both
sides: validation as you type against `indicators validate`, previews against
`indicators compute`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_drafts_benchmark_reports_ours_and_the_peers(
        helsinki_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from observatory.cli import main

    assert main(["bench", "drafts", "--store", str(helsinki_store), "--edits", "5",
                 "--previews", "3"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["edits"] == 5 and summary["preview_cells"] > 0
    for key in ("check_ms", "peer_validate_ms", "preview_ms", "preview_count_ms",
                "peer_compute_ms"):
        assert 0 < summary[key]["p50"] <= summary[key]["p95"], key
    assert summary["check_ratio"] > 1 and summary["preview_ratio"] > 1
