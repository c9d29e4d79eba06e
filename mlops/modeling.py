"""Build the scikit-learn pipeline the config describes, and the reviewed skops trust list."""

from dataclasses import dataclass
from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@dataclass(frozen=True)
class Estimator:
    cls: type[ClassifierMixin]
    # Types skops must be told to trust to load this estimator; each was reviewed as data-only
    # (no code runs when it is loaded). Add to it only after the same review.
    skops_trusted_types: tuple[str, ...] = ()


ESTIMATORS: dict[str, Estimator] = {
    "logistic_regression": Estimator(LogisticRegression),
    "random_forest": Estimator(RandomForestClassifier, ("sklearn.tree._tree.Tree",)),
    "hist_gradient_boosting": Estimator(
        HistGradientBoostingClassifier,
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",),
    ),
}

# Needed by every pipeline: the fitted encoders and imputers keep numpy dtypes.
COMMON_TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)


def trusted_types() -> list[str]:
    """Every type the project loads from a skops file, across all supported estimators."""
    types = set(COMMON_TRUSTED_TYPES)
    for estimator in ESTIMATORS.values():
        types.update(estimator.skops_trusted_types)
    return sorted(types)


def make_estimator(name: str, params: dict[str, Any], seed: int) -> ClassifierMixin:
    """The configured estimator; seeded when it has randomness and the config did not seed it."""
    estimator = ESTIMATORS[name].cls(**params)
    if "random_state" in estimator.get_params() and "random_state" not in params:
        estimator.set_params(random_state=seed)
    return estimator


def build_pipeline(
    numeric: list[str], categorical: list[str], estimator: ClassifierMixin
) -> Pipeline:
    """Impute and scale numbers, impute and one-hot encode categories, then the estimator."""
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
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)]
    )
    return Pipeline([("preprocess", preprocess), ("classifier", estimator)])
