"""Build the scikit-learn pipeline the config describes, and the reviewed skops trust list.

scikit-learn is imported only when an estimator or a pipeline is built, so reading the
config (every step does it first) stays fast.
"""

import importlib
from dataclasses import dataclass
from typing import Any

from mlops.metrics import Task

_TREE = "sklearn.tree._tree.Tree"
_HIST_TREE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


@dataclass(frozen=True)
class Estimator:
    path: str  # module.Class
    # Types skops must be told to trust to load this estimator; each was reviewed as data-only
    # (no code runs when it is loaded). Add to it only after the same review.
    skops_trusted_types: tuple[str, ...] = ()
    # One-hot encoding of a many-valued column is sparse; some estimators refuse sparse input.
    accepts_sparse: bool = True

    @property
    def cls(self) -> type:
        module, name = self.path.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)


# The same three names for both tasks, so a fork that changes task keeps its estimator choice.
ESTIMATORS: dict[Task, dict[str, Estimator]] = {
    "classification": {
        "linear": Estimator("sklearn.linear_model.LogisticRegression"),
        "random_forest": Estimator("sklearn.ensemble.RandomForestClassifier", (_TREE,)),
        "hist_gradient_boosting": Estimator(
            "sklearn.ensemble.HistGradientBoostingClassifier", (_HIST_TREE,), accepts_sparse=False
        ),
    },
    "regression": {
        "linear": Estimator("sklearn.linear_model.Ridge"),
        "random_forest": Estimator("sklearn.ensemble.RandomForestRegressor", (_TREE,)),
        "hist_gradient_boosting": Estimator(
            "sklearn.ensemble.HistGradientBoostingRegressor", (_HIST_TREE,), accepts_sparse=False
        ),
    },
}
ESTIMATOR_NAMES: tuple[str, ...] = tuple(ESTIMATORS["classification"])

# Needed by every pipeline: the fitted encoders and imputers keep numpy dtypes.
COMMON_TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)


def trusted_types() -> list[str]:
    """Every type the project loads from a skops file, across all supported estimators."""
    types = set(COMMON_TRUSTED_TYPES)
    for by_name in ESTIMATORS.values():
        for estimator in by_name.values():
            types.update(estimator.skops_trusted_types)
    return sorted(types)


def make_estimator(task: Task, name: str, params: dict[str, Any], seed: int) -> Any:
    """The configured estimator; seeded when it has randomness and the config did not seed it."""
    estimator = ESTIMATORS[task][name].cls(**params)
    if "random_state" in estimator.get_params() and "random_state" not in params:
        estimator.set_params(random_state=seed)
    return estimator


def build_pipeline(
    task: Task,
    estimator_name: str,
    params: dict[str, Any],
    seed: int,
    numeric: list[str],
    categorical: list[str],
) -> Any:
    """Impute and scale numbers, impute and one-hot encode categories, then the estimator:
    an unfitted scikit-learn Pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    # Categories never seen in training are encoded as all zeros instead of failing at serving.
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    preprocess = ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)],
        # 0 forces dense output, which the estimators that refuse sparse input need.
        sparse_threshold=0.3 if ESTIMATORS[task][estimator_name].accepts_sparse else 0.0,
    )
    estimator = make_estimator(task, estimator_name, params, seed)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])
