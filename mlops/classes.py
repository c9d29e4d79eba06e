"""Per-class figures of a multiclass evaluation, for the report: each class's held-out rows,
precision and recall for the candidate and the champion, the candidate's confusion matrix,
and how the classes the two models know differ. Pure functions on class codes; no I/O.

The rules they make visible (docs/gate.md, "Classes"):
- a class a model predicts but the held-out rows lack: its predictions are errors (precision
  0), and the averaged metrics count it as scikit-learn does;
- a class of the data that the champion never learned (added since): the champion never
  predicts it, so its rows are the champion's errors in every label metric; the champion has
  no probability for it, so its `log_loss` and `roc_auc_ovr` are not computed and not
  compared;
- a class the champion knows that the data no longer has (removed): what it still predicts of
  it counts as its errors.
"""

from typing import Any

import numpy as np

from mlops.metrics import Predictions

# Metrics a champion needs a probability of every held-out class for.
PROBABILITY_METRICS = ("log_loss", "roc_auc_ovr")


def confusion_matrix(truth: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """classes × classes counts: rows are the true class, columns the predicted one."""
    cells = np.bincount(truth * classes + labels, minlength=classes * classes)
    return cells.reshape(classes, classes)


def _per_class(confusion: np.ndarray) -> dict[str, list]:
    """Precision and recall of each class; None where undefined (nothing predicted as the
    class, or no held-out row of it)."""
    hits = np.diagonal(confusion)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    return {
        "precision": [float(h / p) if p else None for h, p in zip(hits, predicted, strict=True)],
        "recall": [float(h / s) if s else None for h, s in zip(hits, support, strict=True)],
        "predicted": [int(p) for p in predicted],
    }


def class_report(
    names: list[str],
    truth: np.ndarray,
    candidate: Predictions,
    champion: Predictions | None,
    candidate_classes: list[str],
    champion_classes: list[str] | None,
    metrics: list[str],
) -> dict[str, Any]:
    """What evaluation.json holds under `classes`: `names`, `support` (held-out rows per
    class), `candidate` and `champion` (precision, recall, predicted rows per class),
    `confusion` (the candidate's), and the class sets' differences: `not_held_out` (classes
    a model knows that no held-out row has), `added` and `removed` (classes the candidate
    knows and the champion does not, and the reverse), `not_compared` (the probability
    metrics the champion cannot be compared on)."""
    count = len(names)
    confusion = confusion_matrix(truth, candidate.labels, count)
    support = confusion.sum(axis=1)
    report: dict[str, Any] = {
        "names": names,
        "support": [int(s) for s in support],
        "candidate": _per_class(confusion),
        "champion": None,
        "confusion": confusion.tolist(),
        "not_held_out": [name for name, rows in zip(names, support, strict=True) if not rows],
        "added": [],
        "removed": [],
        "not_compared": [],
    }
    if champion is not None and champion_classes is not None:
        report["champion"] = _per_class(confusion_matrix(truth, champion.labels, count))
        report["added"] = [name for name in candidate_classes if name not in champion_classes]
        report["removed"] = [name for name in champion_classes if name not in candidate_classes]
        unknown_held_out = [name for name in report["added"] if support[names.index(name)]]
        if unknown_held_out:
            report["not_compared"] = [name for name in metrics if name in PROBABILITY_METRICS]
    return report
