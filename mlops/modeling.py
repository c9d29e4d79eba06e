"""Build the scikit-learn pipeline the config describes, and the reviewed skops trust list.

`model.estimator` is one of three built-in names, the import path of a scikit-learn-compatible
class (`sklearn.svm.SVC`, `lightgbm.LGBMClassifier`), or `project_model`: the factories of the
project's own module (mlops/model_code.py). scikit-learn, and the estimator's library, are
imported only when an estimator or a pipeline is built, so reading the config stays fast.
"""

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.metrics import Task
from mlops.model_code import PROJECT_MODULE, import_project_module

# The same three names for both tasks, so a fork that changes task keeps its estimator choice.
BUILT_IN: dict[Task, dict[str, str]] = {
    "classification": {
        "linear": "sklearn.linear_model.LogisticRegression",
        "random_forest": "sklearn.ensemble.RandomForestClassifier",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
    },
    "regression": {
        "linear": "sklearn.linear_model.Ridge",
        "random_forest": "sklearn.ensemble.RandomForestRegressor",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingRegressor",
    },
}
ESTIMATOR_NAMES: tuple[str, ...] = tuple(BUILT_IN["classification"])

# Types skops must be told to trust to load the built-in estimators' pipelines; each was
# reviewed as data-only (no code runs when it is loaded): the fitted encoders' and imputers'
# numpy dtypes, and the arrays of fitted trees. Anything else a model holds is listed, after
# the same review, in the config's model.trusted_types (docs/security.md).
REVIEWED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)
# The project module's factories (docs/adapt.md#your-own-model).
ESTIMATOR_FACTORY = "build_estimator"  # an estimator, put after the default preprocessing
PIPELINE_FACTORY = "build_pipeline"  # the whole pipeline, preprocessing included


@dataclass(frozen=True)
class ModelSettings:
    """What the project module's factories are called with: the config's model settings."""

    task: Task
    numeric_features: list[str]
    categorical_features: list[str]
    params: dict[str, Any]  # model.params, as written
    seed: int  # split.seed: seed the model's randomness with it
    positive_class: str | None


def import_class(path: str, root: Path) -> type:
    """The class an import path names; `project_model.X` comes from the project at `root`."""
    module_name, _, name = path.rpartition(".")
    if not module_name or not name:
        raise ValueError(
            f"model.estimator: {path!r} is neither one of {list(ESTIMATOR_NAMES)}, nor "
            f"{PROJECT_MODULE!r}, nor an import path such as sklearn.svm.SVC"
        )
    if module_name.split(".")[0] == PROJECT_MODULE:
        import_project_module(root)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or a library that fails as it loads (OSError)
        raise ValueError(
            f"model.estimator: {path!r} does not import ({type(error).__name__}: {error}); a "
            "library the template does not install goes into requirements.in, then make lock "
            "and make install"
        ) from None
    found = getattr(module, name, None)
    if not inspect.isclass(found):
        raise ValueError(f"model.estimator: {module_name} has no class {name!r}")
    if not all(callable(getattr(found, method, None)) for method in ("fit", "predict")):
        raise ValueError(
            f"model.estimator: {path} is not a scikit-learn-compatible estimator "
            "(it needs fit and predict)"
        )
    return found


def _takes_any_keyword(cls: type) -> bool:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def configured_estimator(cls: type, params: dict[str, Any], seed: int) -> Any:
    """An instance with model.params, its parameter names and values checked as far as the
    class declares them; seeded when it has randomness and model.params did not seed it.

    Names are checked against the class's own parameters (`get_params`), values against
    `_parameter_constraints` where it declares them (scikit-learn's classes). A class that
    takes `**kwargs` (LightGBM, XGBoost) accepts any name here: the library checks names
    and values when the model is fitted."""
    path = f"{cls.__module__}.{cls.__qualname__}"
    try:
        known = cls().get_params()
    except Exception as error:  # the class's own code
        raise ValueError(
            f"model.estimator: {path}() cannot be created with its defaults: {error}"
        ) from None
    unknown = sorted(set(params) - set(known))
    if unknown and not _takes_any_keyword(cls):
        raise ValueError(
            f"model.params: {cls.__name__} has no parameter(s) {unknown}; expected some of "
            f"{sorted(known)}"
        )
    try:
        estimator = cls(**params)
        if getattr(cls, "_parameter_constraints", None):
            estimator._validate_params()
    except Exception as error:  # InvalidParameterError, or the class's own checks
        named = str(error) if cls.__name__ in str(error) else f"{cls.__name__}: {error}"
        raise ValueError(f"model.params: {named}") from None
    if "random_state" in known and "random_state" not in params:
        estimator.set_params(random_state=seed)
    return estimator


def check_task(model: Any, task: Task, what: str) -> None:
    """Refuse an estimator or pipeline that does not do the config's task."""
    from sklearn.base import is_classifier, is_regressor

    try:
        kind = "classification" if is_classifier(model) else None
        kind = kind or ("regression" if is_regressor(model) else None)
    except (TypeError, AttributeError):  # no scikit-learn tags at all
        kind = None
    if kind != task:
        found = (
            f"does {kind}"
            if kind
            else "is neither a classifier nor a regressor (derive it from "
            "sklearn.base.BaseEstimator and ClassifierMixin or RegressorMixin)"
        )
        raise ValueError(
            f"{what} ({type(model).__name__}) {found}; data.task is {task} "
            "(scikit-learn's is_classifier / is_regressor)"
        )
    if task == "classification" and not hasattr(model, "predict_proba"):
        raise ValueError(
            f"{what} ({type(model).__name__}) has no predict_proba; the metrics and the gate "
            "need class probabilities (wrap it in sklearn.calibration.CalibratedClassifierCV "
            "in project_model.build_estimator)"
        )


def _call_factory(module: Any, name: str, settings: ModelSettings) -> Any:
    what = f"model.estimator: {PROJECT_MODULE}.{name}()"
    try:
        model = getattr(module, name)(settings)
    except Exception as error:  # the fork's code: any failure is reported as one line
        raise ValueError(f"{what} raised {type(error).__name__}: {error}") from None
    if not all(callable(getattr(model, method, None)) for method in ("fit", "predict")):
        raise ValueError(
            f"{what} returned a {type(model).__name__}, not a scikit-learn estimator "
            "(it needs fit and predict)"
        )
    check_task(model, settings.task, what)
    return model


def _project_factory(root: Path) -> tuple[Any, str]:
    module = import_project_module(root)
    defined = [name for name in (ESTIMATOR_FACTORY, PIPELINE_FACTORY) if hasattr(module, name)]
    if len(defined) != 1:
        raise ValueError(
            f"model.estimator: {PROJECT_MODULE} must define one of {ESTIMATOR_FACTORY}(settings) "
            f"(an estimator after the default preprocessing) or {PIPELINE_FACTORY}(settings) "
            f"(the whole pipeline); it defines {defined or 'neither'}"
        )
    return module, defined[0]


def accepts_sparse(estimator: Any, configured: bool | None) -> bool:
    """Whether the default preprocessing may hand the estimator a sparse matrix (one-hot
    encoding of many-valued columns is sparse): model.sparse_input if set, else the
    estimator's own scikit-learn tags (`input_tags.sparse`; a class that does not declare
    it gets dense input, which every estimator takes)."""
    if configured is not None:
        return configured
    return bool(estimator.__sklearn_tags__().input_tags.sparse)


def default_preprocessing(numeric: list[str], categorical: list[str], sparse: bool) -> Any:
    """Impute and scale numbers, impute and one-hot encode categories."""
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
    return ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)],
        # 0 forces dense output, which the estimators that refuse sparse input need.
        sparse_threshold=0.3 if sparse else 0.0,
    )


def build_model(
    settings: ModelSettings, estimator: str, sparse_input: bool | None, root: Path
) -> Any:
    """The unfitted scikit-learn pipeline for `estimator` (a built-in name, an import path
    or `project_model`), checked against the task; raises ValueError naming the config key."""
    from sklearn.pipeline import Pipeline

    if estimator == PROJECT_MODULE:
        module, factory = _project_factory(root)
        model = _call_factory(module, factory, settings)
        if factory == PIPELINE_FACTORY:
            if sparse_input is not None:
                raise ValueError(
                    f"model.sparse_input: applies to the default preprocessing, which "
                    f"{PROJECT_MODULE}.{PIPELINE_FACTORY} replaces; remove it"
                )
            return model
    else:
        path = BUILT_IN[settings.task].get(estimator, estimator)
        model = configured_estimator(import_class(path, root), settings.params, settings.seed)
        check_task(model, settings.task, f"model.estimator: {estimator}")
    preprocess = default_preprocessing(
        settings.numeric_features,
        settings.categorical_features,
        accepts_sparse(model, sparse_input),
    )
    return Pipeline([("preprocess", preprocess), ("estimator", model)])


def build_pipeline(
    task: Task,
    estimator: str,
    params: dict[str, Any],
    seed: int,
    numeric: list[str],
    categorical: list[str],
) -> Any:
    """The default preprocessing and a built-in estimator or an installed class: an
    unfitted scikit-learn Pipeline (for code that has no config, such as make adapt's
    baseline)."""
    settings = ModelSettings(task, numeric, categorical, params, seed, None)
    return build_model(settings, estimator, None, Path.cwd())
