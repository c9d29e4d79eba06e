"""The gate's paired bootstrap on a large held-out set (benchmarks/gate_bootstrap.py)."""

from typing import Any

from benchmarks.gate_bootstrap import (
    BINARY,
    CLASSES,
    GROUPS,
    MULTICLASS,
    RESAMPLES,
    ROWS,
    TIMES,
    bench_gate,
)
from benchmarks.report import Table
from benchmarks.runner import Context, Target, get, progress
from mlops.bootstrap import block_length

NAME = "gate"
TITLE = "Gate bootstrap"
ABOUT = (
    f"The gate's paired bootstrap (`mlops.bootstrap.paired_bootstrap`): {RESAMPLES} resamples, "
    f"candidate and champion, on {ROWS:,} simulated held-out rows. Binary classification "
    f"({', '.join(BINARY)}, the metrics `make adapt` drafts) with distinct scores and with "
    "ties (scores rounded, as tree ensembles give them, so ROC AUC takes the tie-aware "
    "path); the binary case again after a grouped split, whole groups resampled "
    f"({GROUPS:,} held-out groups of random sizes), and after a time-ordered one, circular "
    f"blocks of {block_length(TIMES)} consecutive times ({TIMES:,} distinct held-out times); "
    f"multiclass with {CLASSES} classes, one of them rare ({', '.join(MULTICLASS)}), "
    "and `roc_auc_ovr` on its own, which ranks the rows once per class (measured, not held "
    "to a target); and regression (every metric). Timed in this process, as it runs inside "
    "the evaluation step: no start-up to add."
)
PEAK_MEMORY = False
REPEATED = True
# Held to LIMIT_SECONDS ("classification" is binary, named as before multiclass); MEASURED is
# reported beside them.
CASES = (
    "classification",
    "classification_ties",
    "classification_groups",
    "classification_blocks",
    "multiclass",
    "regression",
)
MEASURED = ("multiclass_roc_auc_ovr",)
LIMIT_SECONDS = 5.0
LABELS = {
    "classification": "classification",
    "classification_ties": "classification with ties",
    "classification_groups": f"classification, {GROUPS:,} groups",
    "classification_blocks": f"classification, blocks of {TIMES:,} times",
    "multiclass": f"multiclass, {CLASSES} classes",
    "multiclass_roc_auc_ovr": f"multiclass, {CLASSES} classes, roc_auc_ovr alone",
    "regression": "regression",
}


def run(context: Context) -> dict[str, Any]:
    progress(f"gate: paired bootstrap on {ROWS:,} held-out rows")
    return bench_gate(context.repeats)


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            f"gate bootstrap, {RESAMPLES} resamples x {ROWS // 1000}k rows, {LABELS[case]}",
            get(results, case, "seconds"),
            LIMIT_SECONDS,
            "s",
        )
        for case in CASES
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    rows = [
        [LABELS[case], ", ".join(results[case]["metrics"]), f"{results[case]['seconds']:.2f}"]
        for case in (*CASES, *MEASURED)
    ]
    return [
        Table(
            f"{results['resamples']} paired resamples of {results['rows']:,} rows on "
            f"{results['cpus']} CPUs",
            ["case", "metrics", "seconds"],
            rows,
        )
    ]
