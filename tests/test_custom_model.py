"""Your own model: estimator classes by import path, the project's own module and its
factories, shipped with the model, trusted as reviewed, served from the bundle alone."""

import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from threadpoolctl import threadpool_limits

from mlops.bundle import serving_dockerfile, system_packages
from mlops.config import load_config
from mlops.errors import PipelineError
from mlops.model_code import (
    PYFUNC_MODULE,
    imported_names,
    pinned_requirements,
    shipped_code,
    unshippable,
)
from mlops.modeling import REVIEWED_TYPES, ModelSettings, build_model
from mlops.registry import check_skops_safe, download_model
from mlops.scoring import same_values
from mlops.serving import model_server, request_body
from tests.conftest import (
    CLASSIFICATION,
    FIXTURES,
    REGRESSION,
    REPO,
    Project,
    clean_env,
    make_project,
)

FIXTURE_MODULE = Path(__file__).parent / "fixtures" / "custom_model" / "project_model.py"
# What skops reported for the fixture's fitted pipeline, reviewed: LightGBM's wrapper and
# booster (its state is parsed by LightGBM's native model loader), the OrderedDict it keeps
# its parameters in, and the fixture's own transformer.
FIXTURE_TRUSTED = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMRegressor",
    "project_model.Ratios",
]
KNN = "sklearn.neighbors.KNeighborsClassifier"
MLFLOW = str(Path(sys.executable).parent / "mlflow")
ALLOW_LOADING = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}


@pytest.fixture(autouse=True)
def one_thread():
    """Fits in this process on one OpenMP thread: HistGradientBoosting's and LightGBM's
    threads spin, and on a busy two-core machine that makes a small fit many times slower."""
    with threadpool_limits(limits=1):
        yield


def awkward_table(task: str, rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Gaps in every column, a 60-level category, a constant column, integer-valued numbers."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "amount": rng.normal(size=rows),
            "count": rng.integers(0, 5, size=rows).astype("float64"),
            "flat": np.ones(rows),
            "place": rng.choice([f"p{i}" for i in range(60)], size=rows).astype(object),
        }
    )
    x.loc[::17, "amount"] = np.nan
    x.loc[::23, "place"] = None
    signal = x["amount"].fillna(0) + rng.normal(size=rows)
    y = signal.gt(0).map({True: "yes", False: "no"}) if task == "classification" else signal
    return x, y


def settings(task: str, params: dict | None = None, categorical=("place",)) -> ModelSettings:
    return ModelSettings(
        task=task,
        numeric_features=["amount", "count", "flat"],
        categorical_features=list(categorical),
        params=params or {},
        seed=0,
        positive_class="yes" if task == "classification" else None,
    )


def project_module(root: Path, body: str) -> Path:
    (root / "project_model.py").write_text(body)
    return root


# ---------------------------------------------------------------- estimators by import path


@pytest.mark.parametrize(
    ("task", "path", "params"),
    [
        ("classification", "sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": 5}),
        ("regression", "sklearn.neighbors.KNeighborsRegressor", {"n_neighbors": 3}),
        ("classification", "lightgbm.LGBMClassifier", {"n_estimators": 5, "verbose": -1}),
        ("regression", "lightgbm.LGBMRegressor", {"n_estimators": 5, "verbose": -1}),
    ],
)
def test_import_paths_build_fit_and_score_awkward_tables(tmp_path, task, path, params):
    x, y = awkward_table(task)
    model = build_model(settings(task, params), path, None, tmp_path).fit(x, y)
    assert type(model.named_steps["estimator"]).__name__ == path.rsplit(".", 1)[1]
    unseen = pd.DataFrame(
        {"amount": [0.1, np.nan], "count": [1.0, 2.0], "flat": [1.0, 1.0], "place": ["new", None]}
    )
    predicted = model.predict(unseen)
    assert len(predicted) == 2
    if task == "classification":
        assert set(predicted) <= {"yes", "no"}


def _sparse_threshold(model) -> float:
    return model.named_steps["preprocess"].sparse_threshold


def test_sparse_input_follows_the_estimator_tags_unless_the_config_says(tmp_path):
    classification = settings("classification")
    # k-nearest neighbours' tags take sparse input; HistGradientBoosting's refuse it.
    assert _sparse_threshold(build_model(classification, KNN, None, tmp_path)) > 0
    dense = build_model(classification, "hist_gradient_boosting", None, tmp_path)
    assert _sparse_threshold(dense) == 0
    assert _sparse_threshold(build_model(classification, KNN, False, tmp_path)) == 0


NO_TAGS = """
class NoTags:
    def get_params(self, deep=True):
        return {}

    def fit(self, x, y):
        return self

    def predict(self, x):
        return x
"""


@pytest.mark.parametrize(
    ("estimator", "params", "expected"),
    [
        ("sklearn.svm.SVR", {}, "model.estimator: sklearn.svm.SVR (SVR) does regression; "),
        ("sklearn.svm.SVC", {}, "model.estimator: sklearn.svm.SVC (SVC) has no predict_proba"),
        (KNN, {"depth": 3}, "model.params: KNeighborsClassifier has no parameter(s) ['depth']"),
        (KNN, {"n_neighbors": 0}, "model.params: The 'n_neighbors' parameter of KNeighborsC"),
        ("sklearn.svm.SVX", {}, "model.estimator: sklearn.svm has no class 'SVX'"),
        ("sklearn.svm", {}, "model.estimator: sklearn has no class 'svm'"),
        ("math.pi", {}, "model.estimator: math has no class 'pi'"),
        ("collections.OrderedDict", {}, "is not a scikit-learn-compatible estimator"),
        ("no_such_library.Model", {}, "'no_such_library.Model' does not import"),
        ("project_model.NoTags", {}, "is neither a classifier nor a regressor (derive it"),
    ],
)
def test_wrong_estimators_and_params_name_the_key(tmp_path, estimator, params, expected):
    project_module(tmp_path, NO_TAGS)
    with pytest.raises(ValueError) as error:
        build_model(settings("classification", params), estimator, None, tmp_path)
    assert str(error.value).startswith(("model.estimator: ", "model.params: "))
    assert expected in str(error.value)


def test_keyword_argument_classes_leave_names_to_their_library(tmp_path):
    """LightGBM takes **kwargs: any name builds; its library judges names and values at fit."""
    model = build_model(
        settings("classification", {"not_a_lightgbm_name": 1}),
        "lightgbm.LGBMClassifier",
        None,
        tmp_path,
    )
    assert model.named_steps["estimator"].get_params()["not_a_lightgbm_name"] == 1


# ---------------------------------------------------------------- the project's own module

WRAPPED = """
from sklearn.linear_model import LogisticRegression

def build_estimator(settings):
    return LogisticRegression(C=settings.params.get("C", 1.0), random_state=settings.seed)
"""
WHOLE = """
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline

def build_pipeline(settings):
    return make_pipeline(
        make_column_transformer(("drop", settings.categorical_features), remainder="passthrough"),
        DummyClassifier(),
    )
"""


def test_build_estimator_is_wrapped_in_the_default_preprocessing(tmp_path):
    project_module(tmp_path, WRAPPED)
    model = build_model(settings("classification", {"C": 0.5}), "project_model", None, tmp_path)
    assert [name for name, _ in model.steps] == ["preprocess", "estimator"]
    assert model.named_steps["estimator"].C == 0.5
    x, y = awkward_table("classification")
    assert len(model.fit(x, y).predict(x)) == len(x)


def test_build_pipeline_replaces_it(tmp_path):
    project_module(tmp_path, WHOLE)
    model = build_model(settings("classification"), "project_model", None, tmp_path)
    assert type(model.steps[-1][1]).__name__ == "DummyClassifier"
    assert "preprocess" not in model.named_steps
    with pytest.raises(ValueError, match="model.sparse_input: applies to the default"):
        build_model(settings("classification"), "project_model", True, tmp_path)


def test_each_project_is_built_from_its_own_module(tmp_path):
    """Another project's module of the same name, imported before, does not stand in."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    project_module(first, WRAPPED)
    project_module(second, WHOLE)
    assert type(build_model(settings("classification"), "project_model", None, first)).__name__
    whole = build_model(settings("classification"), "project_model", None, second)
    assert type(whole.steps[-1][1]).__name__ == "DummyClassifier"


def test_a_package_serves_too_but_not_both_forms_at_once(tmp_path):
    package = tmp_path / "project_model"
    package.mkdir()
    (package / "__init__.py").write_text("from project_model.factories import build_estimator\n")
    (package / "factories.py").write_text(WRAPPED)
    model = build_model(settings("classification"), "project_model", None, tmp_path)
    assert type(model.named_steps["estimator"]).__name__ == "LogisticRegression"
    assert shipped_code(tmp_path) == [package, PYFUNC_MODULE]
    project_module(tmp_path, WRAPPED)
    with pytest.raises(ValueError, match="both project_model.py and project_model/ are in"):
        shipped_code(tmp_path)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "model.estimator is 'project_model', but"),
        ("import no_such_library\n", "project_model.py could not be imported: ModuleNotFoundError"),
        ("x = 1\n", "it defines neither"),
        (WRAPPED + WHOLE, "it defines ['build_estimator', 'build_pipeline']"),
        (
            "def build_estimator(settings):\n    raise RuntimeError('no GPU here')\n",
            "model.estimator: project_model.build_estimator() raised RuntimeError: no GPU here",
        ),
        (
            "def build_pipeline(settings):\n    return {'not': 'a model'}\n",
            "project_model.build_pipeline() returned a dict, not a scikit-learn estimator",
        ),
        (
            "from sklearn.linear_model import Ridge\n"
            "def build_estimator(settings):\n    return Ridge()\n",
            "project_model.build_estimator() (Ridge) does regression; data.task is classification",
        ),
    ],
    ids=["absent", "import-error", "no-factory", "both", "raises", "not-estimator", "task"],
)
def test_project_module_mistakes_are_one_config_message(tmp_path, body, expected):
    config = yaml.safe_load((FIXTURES / CLASSIFICATION / "config.yaml").read_text())
    config["model"] = {"estimator": "project_model"}
    (tmp_path / "data").mkdir()
    (tmp_path / config["data"]["path"]).write_text("x\n1\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    if body is not None:
        project_module(tmp_path, body)
    with pytest.raises(PipelineError) as error:
        load_config(tmp_path / "config.yaml")
    assert str(error.value).startswith("config.yaml: invalid configuration:\n  model.")
    assert expected in str(error.value)


# ---------------------------------------------------------------- what travels with a model


def test_requirements_add_each_library_pinned_once(tmp_path):
    module = project_module(
        tmp_path,
        "import os\nimport numpy as np\nfrom lightgbm import LGBMRegressor\n"
        "from project_model import helpers\nfrom . import sibling\n",
    )
    pinned = pinned_requirements(
        ("scikit-learn", "numpy"),
        ["lightgbm.basic.Booster", "collections.OrderedDict", "project_model.Ratios"],
        [module / "project_model.py"],
    )
    assert pinned == [
        f"scikit-learn=={version('scikit-learn')}",
        f"numpy=={version('numpy')}",
        f"lightgbm=={version('lightgbm')}",
    ]


def test_what_a_server_could_not_import_is_named_with_its_origin(tmp_path):
    module = project_module(
        tmp_path,
        "import collections, lightgbm, mlops.config, project_model.helpers\n"
        "try:\n    import no_such_optional_library\nexcept ImportError:\n    pass\n",
    )
    names = sorted(imported_names(module / "project_model.py"))
    types = ["lightgbm.basic.Booster", "builtins.bytearray", "project_model.Ratios"]
    found = unshippable([*types, *names, "mlops.config.Config"], ["project_model"])
    assert list(found) == ["mlops", "mlops.config.Config"]
    assert found["mlops"].endswith(str(Path("mlops", "__init__.py")))


def test_dockerfile_installs_the_system_packages_of_the_model_libraries():
    generated = (
        "FROM python:3.11-slim\nRUN apt-get -y update && apt-get install -y "
        '--no-install-recommends nginx\nCOPY model_dir /opt/ml/model\nENTRYPOINT ["x"]\n'
    )
    with_lightgbm = serving_dockerfile(generated, ["mlflow==3", "lightgbm==4.7.0"])
    assert "--no-install-recommends nginx libgomp1\n" in with_lightgbm
    assert "ENV MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true\n\nENTRYPOINT" in with_lightgbm
    assert "nginx\n" in serving_dockerfile(generated, ["mlflow==3", "scikit-learn==1.9"])
    assert system_packages(["xgboost-cpu==3.2.0", ""]) == []
    with pytest.raises(PipelineError, match="unexpected Dockerfile"):
        serving_dockerfile("FROM scratch\n", [])


# ---------------------------------------------------------------- the documented example


def documented_example() -> tuple[str, list[str]]:
    """The project_model.py and the model.trusted_types that docs/adapt.md shows."""
    text = (REPO / "docs" / "adapt.md").read_text()
    module = re.search(r"```python\n(\"\"\"My project's own model.*?)```", text, re.S).group(1)
    model = re.search(r"```yaml\n(model:\n.*?)```", text, re.S).group(1)
    return module, yaml.safe_load(model)["model"]["trusted_types"]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_documented_date_parts_example_fits_stores_and_loads(tmp_path, task):
    import skops.io

    module, trusted = documented_example()
    project_module(tmp_path, module)
    x, y = awkward_table(task)
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, len(x)), "D")
    x["signup_date"] = days.strftime("%Y-%m-%d").astype(object)
    x.loc[::13, "signup_date"] = None
    x.loc[5, "signup_date"] = "not a date"
    model = build_model(
        settings(task, categorical=("place", "signup_date")), "project_model", None, tmp_path
    ).fit(x, y)
    stored = check_skops_safe(model, [*REVIEWED_TYPES, *trusted], ["project_model"], "c.yaml")
    assert set(stored) - set(REVIEWED_TYPES) == set(trusted)
    loaded = skops.io.loads(skops.io.dumps(model), trusted=[*REVIEWED_TYPES, *trusted])
    assert same_values(list(model.predict(x)), list(loaded.predict(x)))


# ---------------------------------------------------------------- through the pipeline

CUSTOM_MODEL = {
    "estimator": "project_model",
    # One thread: OpenMP spinning on a busy 2-core machine makes the fit 40 times slower.
    "params": {"n_estimators": 100, "n_jobs": 1, "verbose": -1},
    "trusted_types": FIXTURE_TRUSTED,
}


def with_custom_model(project: Project, **model) -> Project:
    """The regression fixture with the fixture's own module and its model settings."""
    shutil.copy2(FIXTURE_MODULE, project.root / "project_model.py")
    config = project.config()
    config["model"] = {**CUSTOM_MODEL, **model}
    project.write_config(config)
    return project


def run_ok(project: Project, *scripts: str) -> None:
    for script in scripts:
        result = project.run(script)
        assert result.returncode == 0, (script, result.stdout[-2000:], result.stderr[-2000:])


def held_out_rows(project: Project, count: int = 20) -> tuple[pd.DataFrame, pd.Series]:
    """Held-out rows as the data file has them (target dropped), and the predictions the
    evaluation recorded for them."""
    evaluated = pd.read_csv(project.outputs / "holdout_predictions.csv", index_col="row")
    rows = pd.read_csv(project.data_path).loc[evaluated.index[:count]]
    return rows.drop(columns=project.target), evaluated["prediction"].iloc[:count]


def check_model_files(project: Project, scratch: Path) -> None:
    """The champion's files hold the module, the pinned library and the reviewed list (deploy
    has loaded them with the project's own loader and compared the predictions)."""
    import mlflow

    mlflow.set_tracking_uri(project.tracking_uri)
    model_dir = download_model(f"models:/{project.model_name}@champion", scratch)
    assert (model_dir / "code" / "project_model.py").read_bytes() == FIXTURE_MODULE.read_bytes()
    requirements = (model_dir / "requirements.txt").read_text().splitlines()
    assert f"lightgbm=={version('lightgbm')}" in requirements
    flavor = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]["sklearn"]
    assert set(FIXTURE_TRUSTED) <= set(flavor["skops_trusted_types"])


def check_bundle_serves_alone(project: Project, scratch: Path) -> None:
    """Served from a copy of the bundle, with a clean working directory and no PYTHONPATH:
    the model's own code/ is the only project_model there is."""
    bundle = shutil.copytree(project.outputs / "bundle", scratch / "bundle")
    dockerfile = (bundle / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends nginx libgomp1" in dockerfile
    assert "COPY model_dir /opt/ml/model" in dockerfile
    assert (bundle / "model_dir" / "code" / "project_model.py").is_file()
    pinned = f"lightgbm=={version('lightgbm')}"
    assert pinned in (bundle / "model_dir" / "requirements.txt").read_text().splitlines()
    elsewhere = scratch / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in clean_env(**ALLOW_LOADING).items() if k != "PYTHONPATH"}
    absent = subprocess.run(
        [sys.executable, "-c", "import project_model"], cwd=elsewhere, env=env, capture_output=True
    )
    assert absent.returncode != 0 and b"No module named 'project_model'" in absent.stderr

    rows, evaluated = held_out_rows(project)
    request = scratch / "rows.json"
    request.write_bytes(request_body(rows))
    output = scratch / "predictions.json"
    predicted = subprocess.run(
        [MLFLOW, "models", "predict", "-m", str(bundle / "model_dir"), "-i", str(request)]
        + ["-t", "json", "-o", str(output), "--env-manager", "local"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert same_values(evaluated, json.loads(output.read_text())["predictions"])
    with model_server(str(bundle / "model_dir"), env=env, cwd=elsewhere) as (server, _):
        status, body = server.post(request_body(rows))
    assert status == 200, body[:300]
    assert same_values(evaluated, json.loads(body)["predictions"])


@pytest.mark.parametrize(
    "failure",
    [ImportError("No module named 'xgboost'"), AttributeError("'Ratios' has no 'ratio_'")],
)
def test_a_champion_that_no_longer_loads_is_not_scored_and_the_gate_fails_closed(
    tmp_path, monkeypatch, failure
):
    """The champion loads with its own shipped code and today's libraries: whatever fails
    there (an import its module makes, a renamed attribute), the comparison is refused with
    the reason, not a traceback. A tracking server that fails is the server's error."""
    from mlflow.exceptions import MlflowException

    import mlops.steps.evaluate as evaluate

    config = load_config(make_project(tmp_path).config_path)
    version = type("Version", (), {"version": "3", "run_id": "r"})()
    monkeypatch.setattr(evaluate, "champion_version", lambda *args: version)
    monkeypatch.setattr(evaluate, "download_deployed", lambda *args: tmp_path)

    def raising(error: Exception):
        def load(_):
            raise error

        return load

    monkeypatch.setattr(evaluate, "load_sklearn_model", raising(failure))
    about, scores, reasons = evaluate._score_champion(config, None, pd.DataFrame(), pd.Series())
    assert about == {"version": "3", "run_id": "r", "metrics": None} and scores is None
    assert reasons == [
        "the champion (version 3) could not be scored on the held-out rows: "
        f"{type(failure).__name__}: {failure}"
    ]
    monkeypatch.setattr(evaluate, "load_sklearn_model", raising(MlflowException("refused")))
    with pytest.raises(MlflowException):
        evaluate._score_champion(config, None, pd.DataFrame(), pd.Series())


def check_champion_keeps_its_code(project: Project) -> None:
    """The class the champion was trained with is renamed in today's module: the champion
    still loads, from its own copy, and is compared with the new candidate."""
    renamed = [name.replace("Ratios", "PerUnit") for name in FIXTURE_TRUSTED]
    with_custom_model(project, trusted_types=renamed)
    module = project.root / "project_model.py"
    module.write_text(module.read_text().replace("Ratios", "PerUnit"))
    run_ok(project, "train_model.py", "evaluate_model.py")
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["champion"]["version"] == "1"
    assert all(value is not None for value in evaluation["champion"]["metrics"].values())
    assert not any("could not be scored" in reason for reason in evaluation["reasons"])


@pytest.mark.slow
def test_own_module_and_library_through_deploy_the_bundle_and_serving(tmp_path):
    """One deploy, checked three ways (one test, so parallel workers do not train it twice)."""
    (tmp_path / "project").mkdir()
    project = with_custom_model(make_project(tmp_path / "project", REGRESSION))
    run_ok(project, "train_model.py", "evaluate_model.py", "deploy_model.py", "export_bundle.py")
    (tmp_path / "model").mkdir()
    check_model_files(project, tmp_path / "model")
    check_bundle_serves_alone(project, tmp_path)
    check_champion_keeps_its_code(project)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "module", "expected"),
    [
        (
            {"trusted_types": FIXTURE_TRUSTED[:-1]},
            None,
            "error: config.yaml: model.trusted_types: the fitted model holds types that skops "
            "does not trust by default: ['project_model.Ratios']; nothing was saved",
        ),
        (
            {"params": {"num_leaves": 1, "verbose": -1}},
            None,
            "error: model: project_model (LGBMRegressor) could not be fitted on "
            "saratoga_houses.csv with model.params {'num_leaves': 1, 'verbose': -1}: "
            "LightGBMError: Check failed: (num_leaves) > (1)",
        ),
        (
            {},
            "def build_pipeline(settings):\n    raise RuntimeError('no GPU here')\n",
            "error: config.yaml: invalid configuration:\n  model.estimator: "
            "project_model.build_pipeline() raised RuntimeError: no GPU here",
        ),
        (
            {},
            FIXTURE_MODULE.read_text() + "from mlops.metrics import METRICS\n",
            "error: project_model.py imports mlops (from ",
        ),
    ],
    ids=["untrusted-type", "bad-library-parameter", "factory-raises", "local-import"],
)
def test_training_mistakes_stop_before_anything_is_logged(tmp_path, model, module, expected):
    project = with_custom_model(make_project(tmp_path, REGRESSION), **model)
    if module is not None:
        (project.root / "project_model.py").write_text(module)
    result = project.run("train_model.py")
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not (project.root / "mlflow.db").exists() and not project.outputs.exists()
