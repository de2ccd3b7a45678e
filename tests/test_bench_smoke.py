"""`make bench` keeps working: one tiny run, reports written. No timing is asserted."""

import json
from pathlib import Path

import pytest

from launch.cluster import netns_missing
from tests.support.prerequisites import skip_unless_required
from tools import bench

pytestmark = pytest.mark.slow


def test_bench_smoke_run_writes_its_reports(trained_model: Path, tmp_path: Path) -> None:
    assert bench.main(["--smoke", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert [level["concurrency"] for level in report["levels"]] == [1, 2]
    assert all(level["errors"] == 0 and level["messages"] >= 6 for level in report["levels"])
    assert report["rasa_server_peak_rss_mb"] > 0
    # Spanish and English latency for the same questions, side by side (issue 15).
    assert report["spanish_turn_p50_ms"] > 0 and report["english_turn_p50_ms"] > 0
    assert "| the same questions in English / in Spanish: p50 ms" in (tmp_path / "bench.md").read_text()
    assert "| concurrency |" in (tmp_path / "bench.md").read_text()
    # The per-stage profile of a member turn: the NLU stages and one spaCy pipeline run per turn.
    assert "| OnePassSpacyNLP.process |" in report["stage_profile"]
    assert (
        "| spaCy pipeline runs (Language.__call__, inside the NLU stages) |"
        in (tmp_path / "bench.md").read_text()
    )
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_bench_smoke_run_on_a_cluster_of_network_namespace_hosts(trained_model: Path, tmp_path: Path) -> None:
    """`make bench TARGET=cluster HOSTS=netns`: 1 then 2 Rasa servers, each on a host of its own."""
    missing = netns_missing()
    if missing:
        skip_unless_required("namespace hosts need " + ", ".join(missing))
    assert bench.main(["--smoke", "--target", "cluster", "--hosts", "netns", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["hosts"] == "netns"
    assert all(level["errors"] == 0 for level in report["levels"] + report["one_server_levels"])
    # JSON keys: the concurrencies of --smoke.
    assert set(report["throughput_ratio_2_to_1"]) == {"1", "2"}
    table = (tmp_path / "bench.md").read_text()
    assert "on netns hosts" in table and "2 Rasa servers:" in table and "1 Rasa server:" in table
    assert "| throughput 2 servers / 1 server at concurrency 2 |" in (tmp_path / "bench.md").read_text()
    # Where the CPU went, by process (in 10 ms clock ticks: a tiny load leaves most kinds at 0).
    levels = report["levels"] + report["one_server_levels"]
    assert sum(level["cpu_ms_rasa_servers"] for level in levels) > 0
    assert all(level["machine_busy_cpu_ms"] > 0 for level in levels)
    assert "| 1 Rasa server | 2 |" in table and "| 2 Rasa servers | 2 |" in table


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (bench.percentile(values, 50), bench.percentile(values, 95), bench.percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert bench.percentile([], 50) == 0.0


def test_threshold_curve_is_measured_on_held_out_messages(trained_model: Path, tmp_path: Path) -> None:
    from tools import threshold_curve

    rows = threshold_curve.write_curve(trained_model, tmp_path)
    assert [row["threshold"] for row in rows] == list(threshold_curve.THRESHOLDS)
    # Threshold 0 never falls back; the highest threshold falls back most.
    assert rows[0]["in_scope_accuracy"] >= rows[-1]["in_scope_accuracy"]
    assert rows[0]["out_of_scope_recall"] <= rows[-1]["out_of_scope_recall"]
    assert "| threshold |" in (tmp_path / "threshold_curve.md").read_text()
    assert (tmp_path / "threshold_curve.png").read_bytes().startswith(b"\x89PNG")


def test_threshold_curve_counts_fallbacks_and_out_of_scope() -> None:
    from tools.threshold_curve import curve

    in_scope = [([("ask_referral", 0.9)], "ask_referral"), ([("ask_referral", 0.3)], "ask_referral")]
    out_of_scope = [[("out_of_scope", 0.9)], [("ask_referral", 0.2)]]
    rows = curve(in_scope, out_of_scope, [0.0, 0.5])
    assert rows == [
        {"threshold": 0.0, "in_scope_accuracy": 1.0, "out_of_scope_recall": 0.5},
        {"threshold": 0.5, "in_scope_accuracy": 0.5, "out_of_scope_recall": 1.0},
    ]


def test_reference_ratios_divide_the_assistant_s_figures_by_the_starter_bot_s() -> None:
    ours = {
        "levels": [{"concurrency": 1, "p50_ms": 30.0, "p95_ms": 40.0, "throughput_msg_s": 30.0}],
        "cold_start_s": 20.0,
        "training_from_scratch_s": None,
        "rasa_server_peak_rss_mb": 800.0,
    }
    starter = {
        "levels": [{"concurrency": 1, "p50_ms": 60.0, "p95_ms": 50.0, "throughput_msg_s": 0.0}],
        "cold_start_s": 10.0,
        "training_s": 70.0,
        "rasa_server_peak_rss_mb": 400.0,
    }
    assert bench.reference_ratios(ours, starter) == {
        "p50_c1": 0.5,
        "p95_c1": 0.8,
        "throughput_c1": None,  # the starter bot's figure is 0: no ratio
        "cold_start": 2.0,
        "training": None,  # training not timed
        "rasa_server_peak_rss": 2.0,
    }
