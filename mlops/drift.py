"""Data drift: a profile of the data a model was trained on, and a new batch compared with it.

The profile (`profile`) is made at training time from the training rows and the model's
predictions on the held-out rows; it travels inside the model's files. `compare` tells, per
feature and for the predictions, whether the batch looks different. The predictions are
followed as numbers (a regression's values, a binary classifier's positive-class
probability) or, for multiclass, as the predicted class (a categorical column). A batch that
holds the target too (labelled after the fact) is compared on its classes as well, so a
class training never saw is reported. Pure functions on arrays, with SciPy's tests; no I/O.

A feature has drifted when any of these holds (thresholds under `monitoring` in config.yaml):
- its population stability index (PSI) reaches `psi_threshold`: the batch's share of rows
  in each reference bin (numeric: deciles of the training values; categorical: each
  category, plus one for categories never seen) against the reference shares;
- a two-sample test rejects equality at `test_alpha` with an effect of at least
  `min_effect`: Kolmogorov-Smirnov (effect: its distance D) for numbers, chi-square on the
  category counts (effect: Cramér's V) for categories. Large batches make every tiny
  difference significant, so significance alone does not count;
- categorical: the share of rows with a category never seen in training reaches
  `unseen_threshold`;
- the share of missing values moved by `missing_threshold` or more (either way).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PROFILE_FILE = "reference_profile.json"
PROFILE_VERSION = 1
# Held-out rows whose predictions the profile describes: deciles and a sample need no more.
PREDICTION_ROWS = 20_000
# Reference values kept per numeric column for the two-sample test (a seeded sample).
SAMPLE_SIZE = 1000
# Categories whose counts the profile keeps per column, most frequent first; the rest count
# as one "other" bucket (and cannot be told apart from unseen ones).
MAX_CATEGORIES = 1000
# Buckets PSI and chi-square compare: the most frequent categories, then "other" and
# "unseen". Many small buckets would make PSI of a small batch large from noise alone.
COMPARED_CATEGORIES = 20
OTHER = "(other)"
# Shares below this count as this, so PSI stays finite for an empty bin.
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class DriftSettings:
    psi_threshold: float = 0.2
    test_alpha: float = 0.01
    min_effect: float = 0.1
    unseen_threshold: float = 0.05
    missing_threshold: float = 0.1
    bins: int = 10


def _numeric_profile(values: pd.Series, bins: int, rng: np.random.Generator) -> dict[str, Any]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    finite = numbers[np.isfinite(numbers)]
    profile: dict[str, Any] = {
        "kind": "numeric",
        "rows": int(len(numbers)),
        "missing_rate": float(1 - len(finite) / len(numbers)) if len(numbers) else 0.0,
    }
    if len(finite) == 0:
        return {**profile, "edges": [], "shares": [], "sample": [], "mean": None, "std": None}
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1))[1:-1])
    counts = np.bincount(np.searchsorted(inner, finite, side="right"), minlength=len(inner) + 1)
    sample = finite if len(finite) <= SAMPLE_SIZE else rng.choice(finite, SAMPLE_SIZE, False)
    return {
        **profile,
        "edges": [float(edge) for edge in inner],
        "shares": [float(share) for share in counts / len(finite)],
        "sample": sorted(float(value) for value in sample),
        "mean": float(finite.mean()),
        "std": float(finite.std()),
    }


def category_labels(values: pd.Series) -> pd.Series:
    """The present values as category labels. Whole numbers are written without ".0", so a
    code column reads the same whether or not a file has gaps (pandas makes it float then)."""
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(present) and (present % 1 == 0).all():
        return present.astype("int64").astype(str)
    return present.astype(str)


def _categorical_profile(values: pd.Series) -> dict[str, Any]:
    present = category_labels(values)
    counts = present.value_counts()
    kept = counts.iloc[:MAX_CATEGORIES]
    frequencies = {str(k): int(v) for k, v in kept.items()}
    if len(counts) > MAX_CATEGORIES:
        frequencies[OTHER] = int(counts.iloc[MAX_CATEGORIES:].sum())
    return {
        "kind": "categorical",
        "rows": int(len(values)),
        "missing_rate": float(values.isna().mean()) if len(values) else 0.0,
        "counts": frequencies,
        "categories": int(len(counts)),
    }


def _profile_of(values: pd.Series, bins: int, rng: np.random.Generator) -> dict[str, Any]:
    """Numbers get deciles, anything else (predicted classes) category counts."""
    if pd.api.types.is_numeric_dtype(values):
        return _numeric_profile(values, bins, rng)
    return _categorical_profile(values)


def profile(
    features: pd.DataFrame,
    numeric: list[str],
    predictions: pd.Series,
    columns: list[str],
    task: str,
    positive_class: str | None,
    seed: int,
    split: dict[str, Any] | None = None,
    bins: int = DriftSettings.bins,
    target: pd.Series | None = None,
) -> dict[str, Any]:
    """The reference profile: each feature of the training rows, the predictions on the
    held-out rows (the positive-class probability, the predicted class, or the predicted
    value), every column the data file had, how the rows were split (`split`: for a
    time-ordered split, the training period the features come from) and, for
    classification, the training rows' classes (`target`, named by the series)."""
    rng = np.random.default_rng(seed)
    labels = {}
    if target is not None and task == "classification":
        labels = {"target": {"name": str(target.name), **_categorical_profile(target)}}
    return {
        "version": PROFILE_VERSION,
        "task": task,
        "positive_class": positive_class,
        "columns": list(columns),
        "split": split,
        "features": {
            name: (
                _numeric_profile(features[name], bins, rng)
                if name in numeric
                else _categorical_profile(features[name])
            )
            for name in features.columns
        },
        "prediction": _profile_of(predictions, bins, rng),
        **labels,
    }


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    reference = np.maximum(reference, PSI_FLOOR)
    current = np.maximum(current, PSI_FLOOR)
    return float(np.sum((current - reference) * np.log(current / reference)))


def _missing(reference: dict, values: pd.Series, settings: DriftSettings) -> dict[str, Any]:
    current = float(values.isna().mean())
    change = current - reference["missing_rate"]
    return {
        "reference": reference["missing_rate"],
        "current": current,
        "change": change,
        "threshold": settings.missing_threshold,
        "drifted": abs(change) >= settings.missing_threshold,
    }


def _test(name: str, statistic: float, p_value: float, effect: float, s: DriftSettings) -> dict:
    return {
        "name": name,
        "statistic": statistic,
        "p_value": p_value,
        "effect": effect,
        "alpha": s.test_alpha,
        "min_effect": s.min_effect,
        "drifted": p_value < s.test_alpha and effect >= s.min_effect,
    }


def _compare_numeric(reference: dict, values: pd.Series, settings: DriftSettings) -> dict:
    from scipy.stats import ks_2samp

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    finite = numbers[np.isfinite(numbers)]
    result: dict[str, Any] = {"kind": "numeric", "missing": _missing(reference, values, settings)}
    if len(finite) == 0 or not reference["sample"]:
        return {**result, "psi": None, "test": None}
    edges = np.asarray(reference["edges"])
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    psi = _psi(np.asarray(reference["shares"]), counts / len(finite))
    test = ks_2samp(reference["sample"], finite, method="asymp")
    statistic = float(test.statistic)
    return {
        **result,
        "psi": {"value": psi, "threshold": settings.psi_threshold},
        "test": _test("Kolmogorov-Smirnov", statistic, float(test.pvalue), statistic, settings),
        "mean": {"reference": reference["mean"], "current": float(finite.mean())},
    }


def _compare_categorical(reference: dict, values: pd.Series, settings: DriftSettings) -> dict:
    from scipy.stats import chi2_contingency

    present = category_labels(values)
    result: dict[str, Any] = {
        "kind": "categorical",
        "missing": _missing(reference, values, settings),
    }
    if len(present) == 0:
        return {**result, "psi": None, "test": None, "unseen": None}
    known = {name: count for name, count in reference["counts"].items() if name != OTHER}
    counts = present.value_counts()
    seen = counts.index.isin(list(known))
    # With categories beyond the kept ones, a category not kept may be one of those.
    unseen = counts[~seen] if OTHER not in reference["counts"] else counts.iloc[0:0]
    compared = list(known)[:COMPARED_CATEGORIES]
    ref_counts = [known[name] for name in compared]
    ref_counts += [sum(reference["counts"].values()) - sum(ref_counts), 0]
    cur_counts = [int(counts.get(name, 0)) for name in compared]
    cur_counts += [len(present) - sum(cur_counts) - int(unseen.sum()), int(unseen.sum())]
    table = np.array([ref_counts, cur_counts], dtype="float64")
    psi = _psi(table[0] / table[0].sum(), table[1] / table[1].sum())
    table = table[:, table.sum(axis=0) > 0]  # a bucket empty on both sides says nothing
    test = None
    if table.shape[1] >= 2:
        chi2, p_value, _, _ = chi2_contingency(table, correction=False)
        cramers_v = math.sqrt(chi2 / table.sum() / (min(table.shape) - 1))
        test = _test("chi-square", float(chi2), float(p_value), cramers_v, settings)
    share = float(unseen.sum()) / len(present)
    return {
        **result,
        "psi": {"value": psi, "threshold": settings.psi_threshold},
        "test": test,
        "unseen": {
            "share": share,
            "threshold": settings.unseen_threshold,
            "drifted": share >= settings.unseen_threshold,
            "examples": [str(value) for value in unseen.index[:5]],
        },
    }


def _judge(name: str, result: dict[str, Any], values: str = "categories") -> dict[str, Any]:
    """drifted, the reasons in words, and a severity (the largest measure over its
    threshold) to sort by. `values`: what a category of the column is, in the reasons."""
    reasons, ratios = [], []
    psi = result.get("psi")
    if psi is not None:
        ratios.append(psi["value"] / psi["threshold"])
        if psi["value"] >= psi["threshold"]:
            reasons.append(f"PSI {psi['value']:.3f} ≥ {psi['threshold']:g}")
    test = result.get("test")
    if test is not None:
        if test["p_value"] < test["alpha"]:
            ratios.append(test["effect"] / test["min_effect"])
        if test["drifted"]:
            effect = "D" if test["name"] == "Kolmogorov-Smirnov" else "Cramér's V"
            reasons.append(
                f"{test['name']} p = {test['p_value']:.2g}, {effect} {test['effect']:.3f} ≥ "
                f"{test['min_effect']:g}"
            )
    unseen = result.get("unseen")
    if unseen is not None:
        ratios.append(unseen["share"] / unseen["threshold"])
        if unseen["drifted"]:
            examples = ", ".join(repr(example) for example in unseen["examples"])
            reasons.append(
                f"{unseen['share']:.1%} of rows hold {values} never seen in training "
                f"(e.g. {examples})"
            )
    missing = result["missing"]
    ratios.append(abs(missing["change"]) / missing["threshold"])
    if missing["drifted"]:
        reasons.append(
            f"missing values {missing['reference']:.1%} → {missing['current']:.1%} "
            f"({missing['change']:+.1%})"
        )
    return {
        "name": name,
        **result,
        "drifted": bool(reasons),
        "reasons": reasons,
        "severity": max(ratios, default=0.0),
    }


def _compare(reference: dict, values: pd.Series, settings: DriftSettings) -> dict:
    compare_one = _compare_numeric if reference["kind"] == "numeric" else _compare_categorical
    return compare_one(reference, values, settings)


def compare(
    reference: dict[str, Any],
    features: pd.DataFrame,
    columns: list[str],
    predictions: pd.Series,
    settings: DriftSettings,
    labels: pd.Series | None = None,
) -> dict[str, Any]:
    """Each reference feature of the batch (`features`, with every column the reference
    profiles), its predictions and, when the batch has the target (`labels`) and the
    reference its classes, those classes, against the reference, most severe first;
    `drifted_features` names the features that drifted, `new_columns` the batch's `columns`
    the training data did not have, `target` the classes' comparison (or None)."""
    results = []
    for name, ref in reference["features"].items():
        results.append(_judge(name, _compare(ref, features[name], settings)))
    results.sort(key=lambda f: -f["severity"])
    prediction = _judge("prediction", _compare(reference["prediction"], predictions, settings))
    target = None
    if labels is not None and reference.get("target"):
        name = f"{reference['target']['name']} (target)"
        target = _judge(name, _compare(reference["target"], labels, settings), "classes")
    drifted = [f["name"] for f in results if f["drifted"]]
    return {
        "rows": int(len(features)),
        "reference_rows": next(iter(reference["features"].values()))["rows"],
        "new_columns": [c for c in columns if c not in reference["columns"]],
        "features": results,
        "prediction": prediction,
        "target": target,
        "drifted_features": drifted,
        "drifted": bool(drifted) or prediction["drifted"] or bool(target and target["drifted"]),
    }
