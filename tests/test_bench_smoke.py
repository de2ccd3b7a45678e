"""`make bench` keeps working: one tiny run, reports written. No timing is asserted."""

import json
from pathlib import Path

import pytest

from tools import bench

pytestmark = pytest.mark.slow


def test_bench_smoke_run_writes_its_reports(trained_model: Path, tmp_path: Path) -> None:
    assert bench.main(["--smoke", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert [level["concurrency"] for level in report["levels"]] == [1, 2]
    assert all(level["errors"] == 0 and level["messages"] >= 6 for level in report["levels"])
    assert report["rasa_server_peak_rss_mb"] > 0
    assert "| concurrency |" in (tmp_path / "bench.md").read_text()
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (bench.percentile(values, 50), bench.percentile(values, 95), bench.percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert bench.percentile([], 50) == 0.0
