"""Benchmark what the pipeline costs beyond the model itself (`make benchmark`).

    .venv/bin/python benchmarks/run_benchmark.py [--sections overhead,startup,...]
        [--sizes bundled,100k,1m] [--repeats 3] [--requests 200] [--batches 20]

Sections (benchmarks/sections/, one module each; docs/benchmark.md says what each measures):

  overhead    run_pipeline.py (one process) and the four step scripts (one process each)
              versus benchmarks/bare.py, the same model with nothing else
  startup     --help and config errors of every script; imports per step
  validation  the Great Expectations suite versus the same rules in plain pandas
  setup       requirements.txt into a fresh venv with pip and with uv, cold and warm cache
  serving     `mlflow models serve` of the champion versus predict in process
  pr          a pull request's pipeline run and its comment under act (needs act and Docker)
  gate        the gate's paired bootstrap on 200,000 held-out rows
  charts      every chart of the evaluation for 200,000 held-out rows, per task

Sizes (overhead and validation) 100k and 1m are generated from the bundled data at run time.
Prints the figures and the targets (hold / miss / not run), writes the full results to
benchmarks/results/latest.json, replaces the sections it ran in docs/benchmark.json and
renders docs/benchmark.md from it.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path (make benchmark); mlops/ and benchmarks/ live in the repository root.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.datagen import SIZES  # noqa: E402
from benchmarks.report import all_targets, text_report, update_docs  # noqa: E402
from benchmarks.runner import (  # noqa: E402
    PYTHON,
    BenchmarkError,
    Context,
    Runner,
    Workspace,
    clean_env,
    machine,
    progress,
    source_revision,
)
from benchmarks.sections import SECTIONS  # noqa: E402

RESULTS_FILE = REPO / "benchmarks" / "results" / "latest.json"
DOCS_JSON = REPO / "docs" / "benchmark.json"
DOCS_MARKDOWN = REPO / "docs" / "benchmark.md"


def _choices(value: str, known: Iterable[str], what: str) -> list[str]:
    chosen = [item.strip().lower() for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {unknown or value!r}; choose from {','.join(known)}"
        )
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        type=lambda v: _choices(v, SECTIONS, "section"),
        help="comma-separated (default: all)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(SIZES),
        type=lambda v: _choices(v, SIZES, "size"),
        help="data sizes for overhead and validation (default: all)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure")
    parser.add_argument("--requests", type=int, default=200, help="single-row requests to time")
    parser.add_argument("--batches", type=int, default=20, help="1,000-row batches to time")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="JSON results file")
    return parser


def _run_section(name: str, context: Context, memory_method: str) -> dict[str, Any]:
    """The section's entry: {"meta": where and when it ran, "results": its figures}."""
    module = SECTIONS[name]
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **source_revision(),
        "repeats": context.repeats if module.REPEATED else 1,
        "load_before": os.getloadavg()[0],
        "machine": machine(),
        "memory_method": memory_method,
    }
    started = time.perf_counter()
    results = module.run(context)
    meta["seconds"] = time.perf_counter() - started
    meta["load_after"] = os.getloadavg()[0]
    return {"meta": meta, "results": results}


def main() -> int:
    parser = _parser()
    args = parser.parse_args()
    if min(args.repeats, args.requests, args.batches) < 1:
        parser.error("--repeats, --requests and --batches must be at least 1")

    # In the order of SECTIONS, however they were listed.
    chosen = [name for name in SECTIONS if name in args.sections]
    entries: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="mlops-benchmark-") as scratch_dir:
        scratch = Path(scratch_dir)
        runner = Runner(scratch)
        if not runner.gnu_time:
            progress(f"note: {runner.memory_method}")
        context = Context(
            runner,
            Workspace(scratch),
            scratch,
            args.sizes,
            args.repeats,
            args.requests,
            args.batches,
        )
        try:
            # One unmeasured import, so the first measured run does not pay for a cold disk cache.
            runner.run(
                [PYTHON, "-c", "import great_expectations, mlflow, sklearn, skops.io"],
                scratch,
                clean_env(),
            )
            for name in chosen:
                try:
                    entries[name] = _run_section(name, context, runner.memory_method)
                except BenchmarkError as error:
                    # The other sections still run; this one keeps its previous entry in docs/.
                    print(f"error: {name}: {error}", file=sys.stderr)
                    failed.append(name)
        except KeyboardInterrupt:
            print("error: interrupted; writing the sections that finished", file=sys.stderr)
            interrupted = True
        except BenchmarkError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    print(text_report(SECTIONS, entries, runner.memory_method))
    results = {name: entry["results"] for name, entry in entries.items()}
    document = {
        "sections": entries,
        "targets": [
            {"section": name, **t.to_dict()}
            for name, t in all_targets(SECTIONS, results)
            if name in entries
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {args.output}", flush=True)
    if entries:
        update_docs(SECTIONS, entries, DOCS_JSON, DOCS_MARKDOWN)
        print(f"updated: {DOCS_JSON.relative_to(REPO)}, {DOCS_MARKDOWN.relative_to(REPO)}")
    if interrupted:
        return 130
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
