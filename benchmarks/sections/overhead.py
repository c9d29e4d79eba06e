"""Pipeline overhead: the whole pipeline against the same model trained with nothing else."""

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.report import Table, yes_no
from benchmarks.runner import (
    BENCHMARKS,
    PYTHON,
    STEPS,
    Context,
    Target,
    clean_env,
    get,
    median,
    progress,
    run_pipeline,
    run_steps,
)

NAME = "overhead"
TITLE = "Pipeline overhead"
ABOUT = (
    "`run_pipeline.py` (validate → train → evaluate → gate → deploy in one process, as "
    "`make pipeline` runs it) against a fresh embedded store in a temporary project copy whose "
    "gate thresholds are relaxed (so deploy always does its full work), versus "
    "`benchmarks/bare.py`: the same model on the same split, with nothing else. On the bundled "
    "data and on 100k / 1M rows generated from it (`benchmarks/datagen.py`). The four step "
    "scripts are also timed one process each, as the CI jobs run them, on another fresh copy. "
    "Same model: the pipeline's metrics equal bare's; deployed: the pipeline registered and "
    "promoted the model."
)
PEAK_MEMORY = True
REPEATED = True


def _same_metrics(pipeline: dict[str, float | None], bare: dict[str, float]) -> bool:
    # evaluation.json records NaN as null.
    return all(
        (pipeline.get(name) is None and math.isnan(value))
        or (pipeline.get(name) is not None and math.isclose(pipeline[name], value, rel_tol=1e-9))
        for name, value in bare.items()
    )


def _checks(root: Path, context: Context, bare_metrics: dict[str, float]) -> dict[str, bool]:
    evaluation = json.loads((root / "outputs" / "evaluation.json").read_text(encoding="utf-8"))
    return {
        "same_model": _same_metrics(evaluation["metrics"], bare_metrics),
        "deployed": context.workspace.note_deployed(root),
    }


def _one_run(context: Context, size: str) -> dict[str, Any]:
    runner, workspace = context.runner, context.workspace
    root = workspace.project(size)
    bare = runner.run(
        [PYTHON, BENCHMARKS / "bare.py", "--config", root / "config.yaml"], root, clean_env()
    )
    bare_metrics = bare.last_json()
    pipeline = run_pipeline(runner, root)
    steps_root = workspace.project(size)
    steps = run_steps(runner, steps_root)
    return {
        "bare": {"seconds": bare.seconds, "peak_mb": bare.peak_mb},
        "pipeline": {
            "seconds": pipeline.seconds,
            "peak_mb": pipeline.peak_mb,
            **_checks(root, context, bare_metrics),
        },
        "steps": {
            "seconds": sum(r.seconds for r in steps.values()),
            "peak_mb": max(r.peak_mb for r in steps.values()),
            "per_step": {n: {"seconds": r.seconds, "peak_mb": r.peak_mb} for n, r in steps.items()},
            **_checks(steps_root, context, bare_metrics),
        },
        "bare_metrics": bare_metrics,
    }


def _summary(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {
        "seconds": median(r[key]["seconds"] for r in runs),
        "peak_mb": median(r[key]["peak_mb"] for r in runs),
    }


def run(context: Context) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in context.sizes:
        runs = []
        for repeat in range(context.repeats):
            progress(f"overhead, {size}: run {repeat + 1} of {context.repeats}")
            runs.append(_one_run(context, size))
        bare, pipeline, steps = (_summary(runs, key) for key in ("bare", "pipeline", "steps"))
        results[size] = {
            "rows": context.workspace.rows(size),
            "bare": bare,
            "pipeline": {
                **pipeline,
                "same_model": all(r["pipeline"]["same_model"] for r in runs),
                "deployed": all(r["pipeline"]["deployed"] for r in runs),
            },
            "steps": {
                **steps,
                "same_model": all(r["steps"]["same_model"] for r in runs),
                "deployed": all(r["steps"]["deployed"] for r in runs),
                "per_step": {
                    name: {
                        "seconds": median(r["steps"]["per_step"][name]["seconds"] for r in runs),
                        "peak_mb": median(r["steps"]["per_step"][name]["peak_mb"] for r in runs),
                    }
                    for name in STEPS
                },
            },
            "ratio_seconds": pipeline["seconds"] / bare["seconds"],
            "ratio_peak_mb": pipeline["peak_mb"] / bare["peak_mb"],
            "steps_ratio_seconds": steps["seconds"] / bare["seconds"],
            "runs": runs,
        }
    return results


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            "pipeline/bare wall time, bundled data",
            get(results, "bundled", "ratio_seconds"),
            5.0,
            "x",
        ),
        Target(
            "pipeline/bare wall time, 100k rows", get(results, "100k", "ratio_seconds"), 2.0, "x"
        ),
        Target("pipeline/bare wall time, 1m rows", get(results, "1m", "ratio_seconds"), 1.3, "x"),
        Target("pipeline/bare peak memory, 1m rows", get(results, "1m", "ratio_peak_mb"), 1.3, "x"),
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    whole = [
        [
            f"{size} ({r['rows']:,})",
            f"{r['bare']['seconds']:.1f}",
            f"{r['pipeline']['seconds']:.1f}",
            f"{r['ratio_seconds']:.2f}x",
            f"{r['bare']['peak_mb']:.0f}",
            f"{r['pipeline']['peak_mb']:.0f}",
            f"{r['ratio_peak_mb']:.2f}x",
            yes_no(r["pipeline"]["same_model"]),
            yes_no(r["pipeline"]["deployed"]),
        ]
        for size, r in results.items()
    ]
    steps = [
        [
            size,
            *(f"{s['seconds']:.1f} / {s['peak_mb']:.0f}" for s in r["steps"]["per_step"].values()),
            f"{r['steps']['seconds']:.1f}",
            f"{r['steps_ratio_seconds']:.2f}x",
            yes_no(r["steps"]["same_model"]),
            yes_no(r["steps"]["deployed"]),
        ]
        for size, r in results.items()
    ]
    return [
        Table(
            "run_pipeline.py (one process) against bare.py: seconds and peak MB",
            [
                "size (rows)",
                "bare s",
                "pipeline s",
                "ratio",
                "bare MB",
                "pipeline MB",
                "ratio",
                "same model",
                "deployed",
            ],
            whole,
        ),
        Table(
            "The step scripts one process each, as CI runs them: seconds / peak MB",
            ["size", *STEPS, "total s", "total/bare", "same model", "deployed"],
            steps,
        ),
    ]
