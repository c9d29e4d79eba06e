"""The gate's paired bootstrap on a large held-out set (benchmarks/gate_bootstrap.py)."""

from typing import Any

from benchmarks.gate_bootstrap import RESAMPLES, ROWS, bench_gate
from benchmarks.report import Table
from benchmarks.runner import Context, Target, get, progress

NAME = "gate"
TITLE = "Gate bootstrap"
ABOUT = (
    f"The gate's paired bootstrap (`mlops.bootstrap.paired_bootstrap`): {RESAMPLES} resamples "
    f"of every metric, candidate and champion, on {ROWS:,} simulated held-out rows; "
    "classification with distinct scores and with ties (scores rounded, as tree ensembles "
    "give them, so ROC AUC takes the tie-aware path), and regression. Timed in this process, "
    "as it runs inside the evaluation step: no start-up to add."
)
PEAK_MEMORY = False
REPEATED = True
CASES = ("classification", "classification_ties", "regression")
LIMIT_SECONDS = 5.0


def _label(case: str) -> str:
    return case.replace("_", " with ")


def run(context: Context) -> dict[str, Any]:
    progress(f"gate: paired bootstrap on {ROWS:,} held-out rows")
    return bench_gate(context.repeats)


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            f"gate bootstrap, {RESAMPLES} resamples x {ROWS // 1000}k rows, {_label(case)}",
            get(results, case, "seconds"),
            LIMIT_SECONDS,
            "s",
        )
        for case in CASES
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    rows = [
        [_label(case), str(len(results[case]["metrics"])), f"{results[case]['seconds']:.2f}"]
        for case in CASES
    ]
    return [
        Table(
            f"{results['resamples']} paired resamples of {results['rows']:,} rows on "
            f"{results['cpus']} CPUs",
            ["case", "metrics", "seconds"],
            rows,
        )
    ]
