"""What the gate's paired bootstrap costs on a large held-out set.

Candidate and champion predictions for ROWS held-out rows are simulated (binormal scores with
shared noise, so the models are correlated as two models of the same rows are), once with
distinct scores and once rounded to two decimals, as tree ensembles give many ties (ROC AUC
then takes the tie-aware path). Timed: `paired_bootstrap` with RESAMPLES resamples of every
classification metric, and of every regression metric, median of `repeats` runs in this
process (the bootstrap runs inside the evaluation step, so there is no start-up to add).
"""

import os
import time
from typing import Any

import numpy as np

from mlops.bootstrap import Predictions, paired_bootstrap
from mlops.metrics import metrics_for

ROWS = 200_000
RESAMPLES = 1000


def _classification(ties: bool) -> tuple[np.ndarray, Predictions, Predictions]:
    rng = np.random.default_rng(0)
    y = rng.random(ROWS) < 0.3
    noise = rng.normal(size=ROWS)
    other = 0.6 * noise + 0.8 * rng.normal(size=ROWS)
    models = []
    for shift, error in ((1.2, noise), (1.0, other)):
        probability = 1 / (1 + np.exp(-(shift * y + error - 0.8)))
        if ties:
            probability = np.round(probability, 2)
        models.append(Predictions(probability > 0.5, probability))
    return y, models[0], models[1]


def _regression() -> tuple[np.ndarray, Predictions, Predictions]:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, ROWS)
    noise = rng.normal(size=ROWS)
    candidate, champion = y + noise, y + 0.5 * noise + rng.normal(size=ROWS)
    return y, Predictions(candidate, candidate), Predictions(champion, champion)


def _median_seconds(case: tuple, repeats: int) -> float:
    task, metrics, y, candidate, champion = case
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        paired_bootstrap(task, metrics, y, candidate, champion, 0.95, RESAMPLES, seed=42)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_gate(repeats: int) -> dict[str, Any]:
    """Seconds for RESAMPLES paired resamples of every metric of each task on ROWS rows."""
    results: dict[str, Any] = {"rows": ROWS, "resamples": RESAMPLES, "cpus": os.cpu_count()}
    cases = {
        "classification": ("classification", _classification(ties=False)),
        "classification_ties": ("classification", _classification(ties=True)),
        "regression": ("regression", _regression()),
    }
    for name, (task, data) in cases.items():
        metrics = metrics_for(task)
        results[name] = {
            "metrics": metrics,
            "seconds": _median_seconds((task, metrics, *data), repeats),
        }
    return results
