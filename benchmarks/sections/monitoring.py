"""Monitoring: monitor_model.py on a large batch of new data against the champion."""

import json
from typing import Any

import pandas as pd

from benchmarks.report import Table
from benchmarks.runner import PYTHON, REPO, Context, Target, clean_env, get, median, progress

NAME = "monitoring"
TITLE = "Drift monitoring"
ABOUT = (
    "`monitor_model.py` (a fresh process, as `make monitor` runs it) against the champion the "
    "pipeline deployed on the bundled data: a batch of 1,000,000 rows generated from that "
    "data (`benchmarks/datagen.py`, without the target), and the shipped `data/recent.csv`. "
    "The time covers reading the batch, loading and scoring the champion, the tests for every "
    "feature and the predictions, and the reports (plots only for drifted features)."
)
PEAK_MEMORY = True
REPEATED = True
BATCHES = {"1m": "1,000,000 generated rows", "recent": "data/recent.csv"}
LIMIT_SECONDS = 20.0


def run(context: Context) -> dict[str, Any]:
    root = context.deployed_project()
    config = context.workspace.config
    large = context.scratch / "monitoring-1m.csv"
    if not large.exists():
        rows = pd.read_csv(context.workspace.data_file("1m"))
        rows.drop(columns=config.data.target).to_csv(large, index=False)
    sources = {"1m": str(large), "recent": str(REPO / config.monitoring.data)}
    results: dict[str, Any] = {}
    for name, source in sources.items():
        runs = []
        for repeat in range(context.repeats):
            progress(f"monitoring, {name}: run {repeat + 1} of {context.repeats}")
            runs.append(
                context.runner.run(
                    [
                        PYTHON,
                        REPO / "monitor_model.py",
                        "--config",
                        root / "config.yaml",
                        "--data",
                        source,
                    ],
                    root,
                    clean_env(),
                )
            )
        drift = json.loads((root / "outputs" / "drift.json").read_text(encoding="utf-8"))
        results[name] = {
            "rows": int(drift["rows"]),
            "seconds": median(run.seconds for run in runs),
            "peak_mb": median(run.peak_mb for run in runs),
            "drifted_features": list(drift["drifted_features"]),
        }
    return results


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target("monitor a 1,000,000-row batch", get(results, "1m", "seconds"), LIMIT_SECONDS, "s")
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    rows = [
        [
            BATCHES[name],
            f"{r['rows']:,}",
            f"{r['seconds']:.1f}",
            f"{r['peak_mb']:.0f}",
            ", ".join(r["drifted_features"]) or "none",
        ]
        for name, r in results.items()
    ]
    return [
        Table(
            "monitor_model.py, fresh process",
            ["batch", "rows", "seconds", "peak MB", "drifted features"],
            rows,
        )
    ]
