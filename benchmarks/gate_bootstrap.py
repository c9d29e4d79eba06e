"""What the gate's paired bootstrap costs on a large held-out set.

Candidate and champion predictions for ROWS held-out rows are simulated (binormal scores with
shared noise, so the models are correlated as two models of the same rows are), once with
distinct scores and once rounded to two decimals, as tree ensembles give many ties (ROC AUC
then takes the tie-aware path); for CLASSES classes (a rare one among them), from logits with
shared noise; and for regression. Timed: `paired_bootstrap` with RESAMPLES resamples of every
binary metric make adapt drafts (BINARY), of the multiclass metrics the gate is held to
(MULTICLASS) and of `roc_auc_ovr` on its own (one ranking per class), and of every regression
metric; the binary case again after a grouped split (whole groups resampled: GROUPS groups
of random sizes) and after a time-ordered one (circular blocks of TIMES distinct times);
median of `repeats` runs in this process (the bootstrap runs inside the evaluation step, so
there is no start-up to add).
"""

import os
import time
from typing import Any

import numpy as np

from mlops.bootstrap import Predictions, Resampling, paired_bootstrap
from mlops.metrics import metrics_for

ROWS = 200_000
RESAMPLES = 1000
CLASSES = 10
# Held-out groups of a grouped split, and distinct held-out times of a time-ordered one.
GROUPS = 2_000
TIMES = 1_000
# The binary metrics make adapt drafts; the multiclass ones the gate is held to at this size.
BINARY = ["roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"]
MULTICLASS = ["accuracy", "balanced_accuracy", "f1_macro", "log_loss"]


def _binary(ties: bool) -> tuple[np.ndarray, Predictions, Predictions]:
    rng = np.random.default_rng(0)
    y = (rng.random(ROWS) < 0.3).astype(int)
    noise = rng.normal(size=ROWS)
    other = 0.6 * noise + 0.8 * rng.normal(size=ROWS)
    models = []
    for shift, error in ((1.2, noise), (1.0, other)):
        probability = 1 / (1 + np.exp(-(shift * y + error - 0.8)))
        if ties:
            probability = np.round(probability, 2)
        scores = np.column_stack([1 - probability, probability])
        models.append(Predictions((probability > 0.5).astype(int), scores))
    return y, models[0], models[1]


def _multiclass() -> tuple[np.ndarray, Predictions, Predictions]:
    rng = np.random.default_rng(2)
    shares = np.r_[np.full(CLASSES - 1, 0.99 / (CLASSES - 1)), 0.01]  # the last one rare
    y = rng.choice(CLASSES, ROWS, p=shares)
    noise = rng.normal(size=(ROWS, CLASSES))
    models = []
    for shift, mix in ((1.5, 0.0), (1.2, 0.6)):
        logits = mix * noise + np.sqrt(1 - mix**2) * rng.normal(size=(ROWS, CLASSES))
        logits[np.arange(ROWS), y] += shift
        probability = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        models.append(Predictions(probability.argmax(axis=1), probability))
    return y, models[0], models[1]


def _regression() -> tuple[np.ndarray, Predictions, Predictions]:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, ROWS)
    noise = rng.normal(size=ROWS)
    candidate, champion = y + noise, y + 0.5 * noise + rng.normal(size=ROWS)
    return y, Predictions(candidate, candidate), Predictions(champion, champion)


def _median_seconds(case: tuple, resampling: Resampling, repeats: int) -> float:
    task, metrics, positive, y, candidate, champion = case
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        paired_bootstrap(
            task,
            metrics,
            y,
            candidate,
            champion,
            0.95,
            RESAMPLES,
            seed=42,
            positive=positive,
            resampling=resampling,
        )
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_gate(repeats: int) -> dict[str, Any]:
    """Seconds for RESAMPLES paired resamples of each case's metrics on ROWS rows."""
    results: dict[str, Any] = {
        "rows": ROWS,
        "resamples": RESAMPLES,
        "classes": CLASSES,
        "cpus": os.cpu_count(),
    }
    multiclass, binary = _multiclass(), _binary(ties=False)
    rng = np.random.default_rng(3)
    rows = Resampling()
    cases = {
        "classification": ("classification", BINARY, 1, binary, rows),
        "classification_ties": ("classification", BINARY, 1, _binary(ties=True), rows),
        "classification_groups": (
            "classification",
            BINARY,
            1,
            binary,
            Resampling.of_groups(rng.integers(0, GROUPS, ROWS)),
        ),
        "classification_blocks": (
            "classification",
            BINARY,
            1,
            binary,
            Resampling.of_times(rng.integers(0, TIMES, ROWS)),
        ),
        "multiclass": ("classification", MULTICLASS, None, multiclass, rows),
        "multiclass_roc_auc_ovr": ("classification", ["roc_auc_ovr"], None, multiclass, rows),
        "regression": ("regression", metrics_for("regression"), None, _regression(), rows),
    }
    for name, (task, metrics, positive, data, resampling) in cases.items():
        results[name] = {
            "metrics": metrics,
            "seconds": _median_seconds((task, metrics, positive, *data), resampling, repeats),
        }
    return results
