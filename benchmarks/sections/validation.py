"""Validation: the Great Expectations suite against the same rules in plain pandas."""

from pathlib import Path
from typing import Any

from benchmarks.report import Table, yes_no
from benchmarks.runner import (
    BENCHMARKS,
    PYTHON,
    BenchmarkError,
    Context,
    Target,
    clean_env,
    get,
    median,
    progress,
)

NAME = "validation"
TITLE = "Validation"
ABOUT = (
    "The project's Great Expectations suite (`mlops.validation`) against the same rules in "
    "plain pandas (`benchmarks/pandas_rules.py`), each in a fresh process "
    "(`benchmarks/validate_once.py`) on a fresh project copy; validate seconds are timed in "
    "process after the CSV is loaded and the engine imported, process seconds are the whole "
    "process. Both engines must agree on every rule, or the section fails."
)
PEAK_MEMORY = True
REPEATED = True
ENGINES = ("gx", "pandas")
TIMINGS = ("process_seconds", "peak_mb", "load_seconds", "import_seconds", "validate_seconds")


def _validate_once(context: Context, engine: str, root: Path) -> dict[str, Any]:
    run = context.runner.run(
        [
            PYTHON,
            BENCHMARKS / "validate_once.py",
            "--engine",
            engine,
            "--config",
            root / "config.yaml",
        ],
        root,
        clean_env(),
    )
    report = run.last_json()
    return {
        "process_seconds": run.seconds,
        "peak_mb": run.peak_mb,
        "verdicts": report["verdicts"],
        **{k: report[k] for k in ("load_seconds", "import_seconds", "validate_seconds", "success")},
    }


def run(context: Context) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in context.sizes:
        runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in ENGINES}
        for repeat in range(context.repeats):
            progress(f"validation, {size}: run {repeat + 1} of {context.repeats}")
            root = context.workspace.project(size)  # fresh: GX writes Data Docs into it
            for engine in ENGINES:
                runs[engine].append(_validate_once(context, engine, root))
            gx, pandas = (runs[engine][-1].pop("verdicts") for engine in ENGINES)
            if gx != pandas:
                differ = sorted(k for k in gx.keys() | pandas.keys() if gx.get(k) != pandas.get(k))
                raise BenchmarkError(f"validation, {size}: GX and pandas disagree on {differ}")
        summary = {
            engine: {key: median(r[key] for r in engine_runs) for key in TIMINGS}
            for engine, engine_runs in runs.items()
        }
        results[size] = {
            **summary,
            "valid": runs["gx"][0]["success"],
            "ratio_validate": summary["gx"]["validate_seconds"]
            / summary["pandas"]["validate_seconds"],
            "ratio_process": summary["gx"]["process_seconds"]
            / summary["pandas"]["process_seconds"],
            "runs": runs,
        }
    return results


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target("GX/pandas validation time, 1m rows", get(results, "1m", "ratio_validate"), 2.0, "x")
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    rows = [
        [
            size,
            f"{r['gx']['validate_seconds']:.2f}",
            f"{r['pandas']['validate_seconds']:.2f}",
            f"{r['ratio_validate']:.1f}x",
            f"{r['gx']['import_seconds']:.1f}",
            f"{r['gx']['process_seconds']:.1f}",
            f"{r['pandas']['process_seconds']:.1f}",
            f"{r['gx']['peak_mb']:.0f}",
            f"{r['pandas']['peak_mb']:.0f}",
            yes_no(r["valid"]),
        ]
        for size, r in results.items()
    ]
    return [
        Table(
            "Seconds and peak MB per engine",
            [
                "size",
                "GX validate s",
                "pandas validate s",
                "ratio",
                "GX import s",
                "GX process s",
                "pandas process s",
                "GX MB",
                "pandas MB",
                "data valid",
            ],
            rows,
        )
    ]
