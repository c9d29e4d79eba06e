"""The benchmark's reports and results files, from hand-made results (nothing is measured)."""

import json

import pytest

from benchmarks.report import markdown_report, merge, text_report, update_docs
from benchmarks.runner import Target
from benchmarks.sections import SECTIONS
from benchmarks.sections.startup import parse_importtime


def meta(date: str = "2025-01-02T03:04:05+00:00", commit: str = "a" * 40) -> dict:
    return {
        "date": date,
        "git_commit": commit,
        "git_dirty": False,
        "repeats": 3,
        "load_before": 0.5,
        "load_after": 0.7,
        "seconds": 12.0,
        "memory_method": "/usr/bin/time -v (Maximum resident set size)",
        "machine": {
            "cpu_count": 2,
            "cpu_model": "Test CPU",
            "memory_gb": 8.0,
            "python": "3.11.7",
            "packages": {"mlflow": "3.17.2"},
        },
    }


GATE = {
    "rows": 200_000,
    "resamples": 1000,
    "cpus": 2,
    "classification": {"metrics": ["roc_auc", "f1"], "seconds": 3.2},
    "classification_ties": {"metrics": ["roc_auc", "f1"], "seconds": 6.5},
    "classification_groups": {"metrics": ["roc_auc", "f1"], "seconds": 3.0},
    "classification_blocks": {"metrics": ["roc_auc", "f1"], "seconds": 3.1},
    "multiclass": {"metrics": ["f1_macro"], "seconds": 2.9},
    "multiclass_roc_auc_ovr": {"metrics": ["roc_auc_ovr"], "seconds": 9.1},
    "regression": {"metrics": ["rmse"], "seconds": 2.4},
}
SERVING = {
    "startup_seconds": 4.0,
    "served_p50_ms": 8.0,
    "served_p99_ms": 20.0,
    "served_rows_per_second": 40_000.0,
    "inprocess_load_seconds": 1.0,
    "inprocess_p50_ms": 2.0,
    "inprocess_p99_ms": 3.0,
    "inprocess_rows_per_second": 100_000.0,
    "server_peak_mb": None,
    "throughput_ratio": 0.4,
    "same_predictions": True,
    "requests": 200,
    "batch_rows": 1000,
    "batches": 20,
    "runs": [{"served_p50_ms": 8.0}],
}


def entries() -> dict:
    return {
        "gate": {"meta": meta(), "results": GATE},
        "serving": {"meta": meta(commit="b" * 40), "results": SERVING},
    }


def verdicts(document: dict) -> dict[str, str]:
    return {t["name"]: t["verdict"] for t in document["targets"]}


def test_targets_hold_miss_and_not_run():
    assert Target("t", 1.0, 2.0, "s").verdict == "hold"
    assert Target("t", 2.5, 2.0, "s").verdict == "miss"
    assert Target("t", 0.4, 0.5, "x", at_most=False).verdict == "miss"
    assert Target("t", None, 2.0, "s").verdict == "not run"


def test_markdown_has_each_section_its_figures_and_the_targets():
    document = merge(SECTIONS, {}, entries())
    markdown = markdown_report(SECTIONS, document)

    assert markdown.startswith("# Benchmark\n")
    assert "do not edit by hand" in markdown
    assert "Test CPU, 2 CPUs, 8 GB" in markdown
    for module in SECTIONS.values():
        assert f"## {module.TITLE}" in markdown
    # Measured sections show their figures and when they were measured.
    assert "| classification with ties | roc_auc, f1 | 6.50 |" in markdown
    assert "| multiclass, 10 classes, roc_auc_ovr alone | roc_auc_ovr | 9.10 |" in markdown
    assert "| classification, 2,000 groups | roc_auc, f1 | 3.00 |" in markdown
    assert "Measured 2025-01-02 03:04 UTC at commit `aaaaaaaaaa`" in markdown
    assert "at commit `bbbbbbbbbb`" in markdown
    # A section never measured says so, and its targets are "not run".
    assert 'Not measured yet: `make benchmark BENCHMARK_ARGS="--sections overhead"`' in markdown
    overall = markdown.split("\n## Targets\n", 1)[1]
    assert "| gate | gate bootstrap, 1000 resamples x 200k rows, regression | 2.40 s |" in overall
    assert "| hold |" in overall and "| miss |" in overall and "| not run |" in overall

    found = verdicts(document)
    assert found["gate bootstrap, 1000 resamples x 200k rows, classification with ties"] == "miss"
    assert found["served single-row latency p50"] == "hold"
    assert found["served/in-process batch throughput"] == "miss"
    assert found["pipeline/bare wall time, 1m rows"] == "not run"


def test_text_report_lists_the_sections_run_and_every_target():
    report = text_report(SECTIONS, entries(), "rusage")
    assert "Gate bootstrap [gate]" in report and "Serving [serving]" in report
    assert "Pipeline overhead [" not in report  # not run: only in the targets
    target_lines = report.split("\nTargets\n", 1)[1].splitlines()
    overhead = [line for line in target_lines if line.startswith("overhead")]
    assert overhead and all(line.endswith("not run") for line in overhead)
    assert any(line.startswith("serving") and line.endswith("hold") for line in target_lines)


def test_a_run_replaces_only_its_sections(tmp_path):
    json_path, markdown_path = tmp_path / "benchmark.json", tmp_path / "benchmark.md"
    update_docs(SECTIONS, entries(), json_path, markdown_path)
    first = json.loads(json_path.read_text())
    assert list(first["sections"]) == ["serving", "gate"]  # in the sections' order
    assert "runs" not in first["sections"]["serving"]["results"]  # per-repeat detail stays out

    faster = {**GATE, "classification_ties": {"metrics": ["roc_auc", "f1"], "seconds": 4.0}}
    later = {"gate": {"meta": meta(date="2025-02-01T00:00:00+00:00"), "results": faster}}
    update_docs(SECTIONS, later, json_path, markdown_path)
    second = json.loads(json_path.read_text())

    assert second["sections"]["serving"] == first["sections"]["serving"]
    assert second["sections"]["gate"]["meta"]["date"] == "2025-02-01T00:00:00+00:00"
    assert verdicts(second)[
        "gate bootstrap, 1000 resamples x 200k rows, classification with ties"
    ] == ("hold")
    markdown = markdown_path.read_text()
    assert "Measured 2025-02-01 00:00 UTC" in markdown and "| 4.00 |" in markdown
    assert markdown == markdown_report(SECTIONS, second)


SETUP = {
    "pip": {"cold": {"seconds": 60.0, "peak_mb": 90.0}, "warm": {"seconds": 30.0, "peak_mb": 80.0}},
    "uv": {"cold": {"seconds": 20.0, "peak_mb": 70.0}, "warm": {"seconds": 5.0, "peak_mb": 60.0}},
    "pip_version": "24.0",
    "uv_version": "0.13.9",
}
PR = {
    "jobs_seconds": {"validate": 12.0, "test": 20.0, "train-evaluate": 15.0, "pr-report": 3.0},
    "pipeline_wall_seconds": 40.0,
    "comment_wall_seconds": 2.0,
    "pr_workflow_seconds": 42.0,
    "critical_path_seconds": 40.0,
    "runner_startup_seconds": 20.0,
    "install_seconds": 20.0,
    "opened_to_comment_estimate_seconds": 160.0,
}


def test_sections_not_run_here_render_too():
    # setup and pr take minutes and need the network or act: their tables from sample figures.
    document = merge(
        SECTIONS,
        {},
        {"setup": {"meta": meta(), "results": SETUP}, "pr": {"meta": meta(), "results": PR}},
    )
    markdown = markdown_report(SECTIONS, document)
    assert "| uv 0.13.9 | 20.0 | 5.0 | 70 | 60 |" in markdown
    assert "| opened → comment, estimate for GitHub | 160 |" in markdown
    found = verdicts(document)
    assert found["warm-cache install with uv (make install)"] == "hold"
    assert found["pull request opened -> comment (estimate for GitHub)"] == "hold"


def test_results_stored_by_an_older_section_do_not_break_the_page():
    document = merge(SECTIONS, {}, {"gate": {"meta": meta(), "results": {"renamed": 1}}})
    assert "predate the section's current tables" in markdown_report(SECTIONS, document)


def test_merge_drops_sections_the_benchmark_no_longer_has():
    existing = {"sections": {"retired": {"meta": meta(), "results": {}}}}
    assert list(merge(SECTIONS, existing, entries())["sections"]) == ["serving", "gate"]


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _io
import time:        50 |        150 | io
some line the program printed
import time:       300 |        300 |     pandas._libs
import time:       200 |        500 |   pandas.core
import time:      1000 |       1500 | pandas
import time:       400 |        400 |   sklearn.utils
import time:       600 |       1000 | sklearn
import time:        20 |         20 | sklearn.metrics
"""


def test_importtime_total_and_packages():
    total, packages = parse_importtime(IMPORTTIME)
    # Depth-0 imports: io 150 + pandas 1500 + sklearn 1000 + sklearn.metrics 20 microseconds.
    assert total == pytest.approx(2670e-6)
    assert packages == pytest.approx(
        {"_io": 100e-6, "io": 50e-6, "pandas": 1500e-6, "sklearn": 1020e-6}
    )
    assert sum(packages.values()) == pytest.approx(total)


def test_importtime_of_nothing():
    assert parse_importtime("error: no such file\n") == (0.0, {})
