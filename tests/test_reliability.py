"""Bad data, bad config and faults: each stops at the earliest step with one clear message.

The cases here are also the table in docs/reliability.md: `test_reliability_doc_is_current`
fails when they drift apart; regenerate with `python -m tests.test_reliability`.
"""

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import (
    CLASSIFICATION,
    FIXTURES,
    MULTICLASS,
    REPO,
    TIME_ORDERED,
    Project,
    clean_env,
    copy_of,
    make_project,
    rewrite_data,
    set_field,
)

DOC = REPO / "docs" / "reliability.md"
# The cases run on the classification fixture project (tests/fixtures/README.md).
FIXTURE_CONFIG = yaml.safe_load((FIXTURES / CLASSIFICATION / "config.yaml").read_text())
MODEL = FIXTURE_CONFIG["mlflow"]["registered_model"]
TARGET = FIXTURE_CONFIG["data"]["target"]


@dataclass(frozen=True)
class Case:
    name: str
    caught_by: str
    message: str  # a part of what the user sees, checked by the test
    edit: Callable[[list[str]], list[str] | bytes] | None = None


def header_renamed(lines: list[str], old: str, new: str) -> list[str]:
    return [lines[0].replace(old, new, 1), *lines[1:]]


def one_class_only(lines: list[str]) -> list[str]:
    index = lines[0].split(",").index(TARGET)
    first = lines[1].split(",")[index]
    return [lines[0], *[line for line in lines[1:] if line.split(",")[index] == first]]


def _plenty_of_duplicates(lines: list[str]) -> list[str]:
    return [*lines, *[lines[1]] * 100]


def with_fields_changed(lines: list[str], rows: dict[int, int]) -> list[str]:
    """The CSV lines with `rows` (data rows from 1) given that many fields more (or fewer)."""
    changed = list(lines)
    for row, extra in rows.items():
        fields = lines[row].split(",")
        changed[row] = ",".join(fields + ["1"] * extra if extra > 0 else fields[:extra])
    return changed


# The fixture's columns: uid, stateabb (a category), vote (the target), age (numbers with
# gaps), educ, female, south, polint, govrace (whole numbers).
BAD_DATA = [
    Case("missing file", "config", "data.path: no file at", lambda ls: None),
    Case("empty file", "loader", "the file is empty", lambda ls: b""),
    Case("header only", "loader", "has a header but no rows", lambda ls: ls[:1]),
    Case(
        "wrong delimiter",
        "loader",
        "the header is separated by ';', expected ','",
        lambda ls: [line.replace(",", ";") for line in ls],
    ),
    Case(
        "non-UTF-8 bytes",
        "loader",
        "not UTF-8 text (byte 0xe9",
        lambda ls: "\n".join(set_field(ls, 5, "stateabb", "caf\xe9")).encode("latin-1"),
    ),
    Case(
        "byte-order mark",
        "loader",
        "starts with a byte-order mark",
        lambda ls: b"\xef\xbb\xbf" + "\n".join(ls).encode(),
    ),
    Case(
        "truncated last line",
        "loader",
        "rows do not match the header: the header has 9 fields, line 2007 has 4",
        lambda ls: [*ls[:-1], ls[-1][: len(ls[-1]) // 2]],
    ),
    Case(
        "a trailing comma on every row (pandas would shift every column)",
        "loader",
        "the header has 9 fields, line 2 has 10, line 3 has 10, line 4 has 10, line 5 has 10, "
        "line 6 has 10 (and 2001 more line(s)); one field too many",
        lambda ls: [ls[0], *[f"{line}," for line in ls[1:]]],
    ),
    Case(
        "some rows longer or shorter than the header",
        "loader",
        "the header has 9 fields, line 4 has 8, line 11 has 10, line 12 has 7",
        lambda ls: with_fields_changed(ls, {3: -1, 10: 1, 11: -2}),
    ),
    Case(
        "a header with a duplicated column name",
        "loader",
        "the header names ['age'] more than once",
        lambda ls: header_renamed(ls, "educ", "age"),
    ),
    Case(
        "a header with an empty column name",
        "loader",
        "the header has no name for column(s) [5]",
        lambda ls: header_renamed(ls, "educ", ""),
    ),
    Case(
        "a required column missing",
        "validation",
        "(table): table columns to match set",
        lambda ls: [",".join(line.split(",")[:-1]) for line in ls],
    ),
    Case(
        "the target column renamed",
        "validation",
        "(table): table columns to match set",
        lambda ls: header_renamed(ls, TARGET, "outcome"),
    ),
    Case(
        "an unexpected extra column (refused: the model's inputs are fixed)",
        "validation",
        "(table): table columns to match set",
        lambda ls: [f"{line},x" for line in ls],
    ),
    Case(
        "strings in a numeric column",
        "validation",
        "female: column values to be of type type=int64; observed str",
        lambda ls: set_field(ls, 1, "female", "thirty"),
    ),
    Case(
        "nulls where none are allowed",
        "validation",
        "female: column values to not be null",
        lambda ls: set_field(ls, 1, "female", ""),
    ),
    Case(
        "values out of range",
        "validation",
        "age: column values to be between min_value=10",
        lambda ls: set_field(ls, 1, "age", "250"),
    ),
    Case(
        "inf in a numeric column",
        "validation",
        "age: column values to be between min_value=10",
        lambda ls: set_field(ls, 2, "age", "inf"),
    ),
    Case(
        "an unseen category",
        "validation",
        "e.g. 'castle'",
        lambda ls: set_field(ls, 1, "stateabb", "castle"),
    ),
    Case(
        "a third target class",
        "validation",
        f"{TARGET}: column values to be in set",
        lambda ls: set_field(ls, 1, TARGET, "7"),
    ),
    Case(
        "a single-class target",
        "validation",
        f"{TARGET}: column distinct values to equal set",
        lambda ls: one_class_only(ls),
    ),
    Case(
        "duplicated rows beyond the allowed share",
        "validation",
        "(rows): compound columns to be unique (for at least 99% of rows)",
        _plenty_of_duplicates,
    ),
    Case(
        "too few rows", "validation", "(table): table row count to be between", lambda ls: ls[:500]
    ),
    Case(
        "a quoted field with an embedded newline",
        "validation",
        "e.g. 'rent\\nhouse'",
        lambda ls: set_field(ls, 1, "stateabb", '"rent\nhouse"'),
    ),
    Case(
        "a file far larger than expected",
        "loader",
        "larger than data.max_file_mb (0.1 MB); raise the limit",
        lambda ls: ls * 8,
    ),
]

BAD_CONFIG = [
    Case("a missing key", "config", "gate: missing (required)"),
    Case("a wrong type", "config", "split.test_fraction: Input should be a valid number"),
    Case("an unknown estimator", "config", "model.estimator: 'xgboost' is neither one of"),
    Case(
        "an estimator class that does not import",
        "config",
        "model.estimator: 'nonexistent_library.Classifier' does not import",
    ),
    Case(
        "an estimator class of the other task",
        "config",
        "model.estimator: sklearn.linear_model.Ridge (Ridge) does regression; data.task is "
        "classification",
    ),
    Case(
        "a parameter the estimator class does not take",
        "config",
        "model.params: SVC has no parameter(s) ['depth']",
    ),
    Case("an unknown metric", "config", "metrics: unknown metric 'gini'"),
    Case(
        "a threshold outside its metric's range",
        "config",
        "threshold for roc_auc is 1.2; expected a number from 0.0 to 1.0",
    ),
    Case("a negative tolerance", "config", "tolerance for f1 is -0.01; expected a number >= 0"),
    Case("a data path that does not exist", "config", "data.path: no file at"),
    Case(
        "a time and a group column both set",
        "config",
        "split: time_column and group_column are both set; set one",
    ),
    Case("a split by the target", "config", f"split.group_column is the target '{TARGET}'"),
    Case(
        "a decision threshold outside (0, 1)",
        "config",
        "model.decision_threshold: expected a number between 0 and 1 (exclusive)",
    ),
    Case(
        "error costs that are both zero",
        "config",
        "model.decision_threshold: costs: both are 0, so no threshold is better than another",
    ),
]
CONFIG_EDITS: dict[str, Callable[[dict], None]] = {
    "a missing key": lambda c: c.pop("gate"),
    "a wrong type": lambda c: c["split"].update(test_fraction="0.2"),
    "an unknown estimator": lambda c: c["model"].update(estimator="xgboost"),
    "an estimator class that does not import": lambda c: c["model"].update(
        estimator="nonexistent_library.Classifier"
    ),
    "an estimator class of the other task": lambda c: c["model"].update(
        estimator="sklearn.linear_model.Ridge", params={}
    ),
    "a parameter the estimator class does not take": lambda c: c["model"].update(
        estimator="sklearn.svm.SVC", params={"depth": 3}
    ),
    "an unknown metric": lambda c: c.update(metrics=[*c["metrics"], "gini"]),
    "a threshold outside its metric's range": lambda c: c["gate"]["thresholds"].update(roc_auc=1.2),
    "a negative tolerance": lambda c: c["gate"]["champion_tolerance"].update(f1=-0.01),
    "a data path that does not exist": lambda c: c["data"].update(path="data/missing.csv"),
    "a time and a group column both set": lambda c: c["split"].update(
        time_column="age", group_column="stateabb"
    ),
    "a split by the target": lambda c: c["split"].update(group_column=TARGET),
    "a decision threshold outside (0, 1)": lambda c: c["model"].update(decision_threshold=1.5),
    "error costs that are both zero": lambda c: c["model"].update(
        decision_threshold={"costs": {"false_positive": 0, "false_negative": 0}}
    ),
}


def with_column(lines: list[str], column: str, value: Callable[[str], str]) -> list[str]:
    """The CSV lines with `column` of every row replaced by `value(its old value)`."""
    index = lines[0].split(",").index(column)
    rows = [line.split(",") for line in lines[1:]]
    return [lines[0], *[",".join([*r[:index], value(r[index]), *r[index + 1 :]]) for r in rows]]


# Split settings checked against the data, on the time-ordered fixture project: its columns
# are city (five cities), date (ISO dates, a row per city and day), rain (the target, yes or
# no) and the day's weather.
BAD_SPLIT = [
    Case(
        "a time column that does not read as times",
        "train (split)",
        "split.time_column 'date': 'someday' does not read as a date or time",
    ),
    Case(
        "a time column with a gap",
        "train (split)",
        "split.time_column 'date' is empty in 1 row(s) (e.g. row 9, counted from 0)",
    ),
    Case(
        "every row on one day",
        "train (split)",
        "split.time_column 'date': every row has the same time (2016-01-01)",
    ),
    Case("a time column the file lacks", "train (split)", "split.time_column: no column 'day'"),
    Case(
        "a group column with one group",
        "train (split)",
        "split.group_column 'city' has a single group ('Auckland'); holding out",
    ),
    Case(
        "fewer groups than folds",
        "train (split)",
        "split.group_column 'city' has 5 groups; holding out split.test_fraction 0.1 takes 10 "
        "folds of whole groups (one held out), so it needs at least 10",
    ),
    Case(
        "a class absent from the most recent period",
        "train (split)",
        "split.time_column 'date': the held-out rows hold no row of class 'yes'",
    ),
]
BY_CITY = {"test_fraction": 0.2, "seed": 42, "group_column": "city"}
SPLIT_EDITS: dict[str, tuple[Callable[[dict], None], Callable[[list[str]], list[str]] | None]] = {
    "a time column that does not read as times": (
        lambda c: None,
        lambda ls: set_field(ls, 10, "date", "someday"),
    ),
    "a time column with a gap": (lambda c: None, lambda ls: set_field(ls, 10, "date", "")),
    "every row on one day": (
        lambda c: None,
        lambda ls: with_column(ls, "date", lambda _: "2016-01-01"),
    ),
    "a time column the file lacks": (lambda c: c["split"].update(time_column="day"), None),
    "a group column with one group": (
        lambda c: c.update(split=BY_CITY),
        lambda ls: with_column(ls, "city", lambda _: "Auckland"),
    ),
    "fewer groups than folds": (lambda c: c.update(split={**BY_CITY, "test_fraction": 0.1}), None),
    "a class absent from the most recent period": (
        lambda c: None,
        lambda ls: [
            ls[0],
            *[
                line.replace(",yes", ",no") if line.split(",")[1] >= "2017-06" else line
                for line in ls[1:]
            ],
        ],
    ),
}

# Class rules, on the multiclass fixture project (three hawk species, 'CH' the rare one): each
# stops training when it reads the data, or at the config.
MULTICLASS_CONFIG = yaml.safe_load((FIXTURES / MULTICLASS / "config.yaml").read_text())
SPECIES = MULTICLASS_CONFIG["data"]["target"]


def rows_of_class(lines: list[str], keep: Callable[[str, int], bool]) -> list[str]:
    """The header and the rows whose class passes `keep(class, how many of it came before)`."""
    index = lines[0].split(",").index(SPECIES)
    seen: dict[str, int] = {}
    kept = [lines[0]]
    for line in lines[1:]:
        label = line.split(",")[index]
        if keep(label, seen.get(label, 0)):
            kept.append(line)
        seen[label] = seen.get(label, 0) + 1
    return kept


CLASS_RULES = [
    Case(
        "a target with one class",
        "train (reading the data)",
        f"the target {SPECIES!r} has a single class ('RT'); classification needs two or more",
        lambda ls: rows_of_class(ls, lambda label, _: label == "RT"),
    ),
    Case(
        "a class of one row",
        "train (reading the data)",
        f"the target {SPECIES!r} has a single row of class(es) 'CH'; every class needs at "
        "least 2 rows",
        lambda ls: rows_of_class(ls, lambda label, before: label != "CH" or before == 0),
    ),
    Case(
        "more classes than data.max_classes (2 here)",
        "train (reading the data)",
        f"the target {SPECIES!r} has 3 classes, more than data.max_classes (2)",
    ),
    Case(
        "data.positive_class on a target of three classes",
        "train (reading the data)",
        "data.positive_class 'CH' is for a target of two classes; 'Species' in hawk_species.csv "
        "has 3 ('CH', 'RT', 'SS'): remove data.positive_class",
    ),
    Case(
        "a metric that does not apply to the task (roc_auc without a positive class)",
        "config",
        "metrics ['roc_auc'] do not apply to multiclass classification (no "
        "data.positive_class); expected some of ['accuracy', 'balanced_accuracy'",
    ),
]
CLASS_CONFIG_EDITS: dict[str, Callable[[dict], None]] = {
    "more classes than data.max_classes (2 here)": lambda c: c["data"].update(max_classes=2),
    "data.positive_class on a target of three classes": lambda c: c["data"].update(
        positive_class="CH"
    ),
    "a metric that does not apply to the task (roc_auc without a positive class)": lambda c: (
        c.update(metrics=[*c["metrics"], "roc_auc"])
    ),
}

FAULTS = [
    Case(
        "tracking server refuses connections",
        "train (first MLflow call)",
        "MLflow at http://127.0.0.1:",
    ),
    Case(
        "tracking server accepts but never answers",
        "train (first MLflow call)",
        "MLflow at http://127.0.0.1:",
    ),
    Case(
        "killed between registering a version and moving the alias",
        "deploy (re-run)",
        f"deployed {MODEL} version 2",
    ),
    Case(
        "model files changed between evaluation and deploy",
        "deploy",
        "model files changed since evaluation",
    ),
    Case(
        "two deploys at once on the same store",
        "deploy (second one)",
        "after this model was evaluated against no champion",
    ),
]


def render_doc() -> str:
    lines = [
        "# Reliability: what stops a bad change, and what the user sees",
        "",
        "Generated from `tests/test_reliability.py`, whose tests check every message below "
        "(`python -m tests.test_reliability` rewrites this file), run on the fixture project "
        f"`tests/fixtures/projects/{CLASSIFICATION}`, whose columns the data cases name. "
        "Every case ends with a "
        "non-zero exit, no traceback, nothing trained or deployed after it, and the registry "
        "as it was.",
        "",
        "Tracking-server calls time out after 15 s and are retried twice (1 s and 2 s apart), "
        "so a server that is down or hangs fails the step in under a minute "
        "(`MLFLOW_HTTP_REQUEST_TIMEOUT`, `MLFLOW_HTTP_REQUEST_MAX_RETRIES`; defaults set in "
        "`mlops/__init__.py`).",
        "",
        "The split settings are checked against the data on the time-ordered fixture project "
        f"`tests/fixtures/projects/{TIME_ORDERED}` (a row per city and day), when the data is "
        "split: first thing in `train`, `evaluate` and `deploy`.",
    ]
    sections = (
        ("Bad data", BAD_DATA, ""),
        ("Bad config", BAD_CONFIG, ""),
        (
            "Classes",
            CLASS_RULES,
            f"On the multiclass fixture project `tests/fixtures/projects/{MULTICLASS}` (three "
            "hawk species, 'CH' the rare one), each run with `train_model.py`, which checks the "
            "classes when it reads the data, before any MLflow run (docs/gate.md, "
            '"Classes"). The expectation suite stops the first case already, as it expects '
            "every class.",
        ),
        ("Bad split settings", BAD_SPLIT, ""),
        ("Faults", FAULTS, ""),
    )
    for title, cases, about in sections:
        lines += ["", f"## {title} ({len(cases)} cases)", ""]
        lines += [about, ""] if about else []
        lines += ["| case | caught by | message contains |", "|---|---|---|"]
        lines += [
            f"| {c.name} | {c.caught_by} | `{c.message}` |".replace("\n", "\\n") for c in cases
        ]
    return "\n".join(lines) + "\n"


def test_reliability_doc_is_current():
    assert DOC.read_text() == render_doc(), "run `python -m tests.test_reliability`"


def assert_clean_failure(result: subprocess.CompletedProcess, message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "Traceback" not in output, output


# ---------------------------------------------------------------- bad data


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_DATA, ids=lambda c: c.name)
def test_bad_data_is_stopped_by_validation(project: Project, case: Case):
    data = project.data_path
    edited = case.edit(data.read_text().splitlines())
    if edited is None:
        data.unlink()
    else:
        data.write_bytes(
            edited if isinstance(edited, bytes) else ("\n".join(edited) + "\n").encode()
        )
    if case.name.startswith("a file far larger"):
        config = project.config()
        config["data"]["max_file_mb"] = 0.1
        project.write_config(config)
    result = project.run("validate_data.py")
    assert_clean_failure(result, case.message)
    assert result.returncode == (1 if case.caught_by == "validation" else 2)
    assert data.name in result.stdout + result.stderr  # the file is named
    assert not (project.root / "mlflow.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: set_field(lines, 1, TARGET, "7"), f"{TARGET}: column values to be in set"),
        (lambda ls: [ls[0], *[f"{line}," for line in ls[1:]]], "rows do not match the header"),
    ],
    ids=["validation", "loader"],
)
def test_pipeline_stops_at_bad_data_and_keeps_the_champion(
    champion_project, tmp_path, edit, message
):
    project = copy_of(champion_project, tmp_path)
    env = {"PIPELINE_CONFIG": str(project.config_path)}
    make = ["make", "--no-print-directory", "-C", str(REPO), "pipeline"]
    client = MlflowClient(project.tracking_uri)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    experiment = client.get_experiment_by_name(project.config()["mlflow"]["experiment"])
    runs_before = len(client.search_runs([experiment.experiment_id]))

    rewrite_data(project, edit)
    second = subprocess.run(make, env=clean_env(**env), capture_output=True, text=True, timeout=600)
    assert_clean_failure(second, message)
    assert "== train" not in second.stdout + second.stderr  # later steps never ran
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion.version
    assert len(client.search_runs([experiment.experiment_id])) == runs_before


# ---------------------------------------------------------------- bad config


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_CONFIG, ids=lambda c: c.name)
def test_bad_config_stops_before_any_work(project: Project, case: Case):
    config = project.config()
    CONFIG_EDITS[case.name](config)
    project.write_config(config)
    for script in ("validate_data.py", "train_model.py", "deploy_model.py"):
        result = project.run(script)
        assert_clean_failure(result, case.message)
        assert result.returncode == 2
    assert not (project.root / "mlflow.db").exists() and not (project.root / "outputs").exists()


# ---------------------------------------------------------------- bad split settings


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_SPLIT, ids=lambda c: c.name)
def test_bad_split_settings_stop_before_training(tmp_path, case: Case):
    project = make_project(tmp_path, TIME_ORDERED)
    edit_config, edit_data = SPLIT_EDITS[case.name]
    config = project.config()
    edit_config(config)
    project.write_config(config)
    if edit_data:
        rewrite_data(project, edit_data)
    result = project.run("train_model.py")
    assert_clean_failure(result, case.message)
    assert result.returncode == 2 and project.data_path.name in result.stderr
    assert not (project.root / "mlflow.db").exists()
    assert not (project.outputs / "training.json").exists()


# ---------------------------------------------------------------- classes


@pytest.mark.slow
@pytest.mark.parametrize("case", CLASS_RULES, ids=lambda c: c.name)
def test_class_rules_stop_before_anything_is_trained(tmp_path, case: Case):
    project = make_project(tmp_path, MULTICLASS)
    if case.edit:
        rewrite_data(project, case.edit)
    else:
        config = project.config()
        CLASS_CONFIG_EDITS[case.name](config)
        project.write_config(config)
    result = project.run("train_model.py")
    assert_clean_failure(result, case.message)
    assert result.returncode == 2 and result.stderr.count("error:") == 1
    assert not (project.root / "mlflow.db").exists() and not (project.root / "outputs").exists()


# ---------------------------------------------------------------- faults


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FAST_FAILING = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "2", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"}


@pytest.mark.slow
def test_refused_connection_fails_fast_and_clearly(project: Project):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = project.run("train_model.py", MLFLOW_TRACKING_URI=uri, **FAST_FAILING)
    assert_clean_failure(result, f"MLflow at {uri}")
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_silent_server_times_out(project: Project):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_ignore() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_ignore, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        result = project.run("train_model.py", MLFLOW_TRACKING_URI=uri, **FAST_FAILING)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
    assert_clean_failure(result, f"MLflow at {uri}")
    assert elapsed < 60, f"took {elapsed:.0f} s"


def run_ok(project: Project, script: str, *args: str, **env: str) -> str:
    result = project.run(script, *args, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def champion_project(tmp_path_factory) -> Project:
    """A store with version 1 as champion."""
    project = make_project(tmp_path_factory.mktemp("champion"))
    for script in ("train_model.py", "evaluate_model.py", "deploy_model.py"):
        run_ok(project, script)
    return project


@pytest.mark.slow
def test_interrupted_deploy_keeps_champion_and_rerun_completes(champion_project, tmp_path):
    project = copy_of(champion_project, tmp_path)
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    # The state a deploy killed after registering leaves: a new version, the alias untouched.
    mlflow.set_tracking_uri(project.tracking_uri)  # MLflow resolves the model id globally
    client = MlflowClient(project.tracking_uri)
    handoff = json.loads((project.outputs / "training.json").read_text())
    orphan = client.create_model_version(MODEL, handoff["model_uri"], run_id=handoff["run_id"])
    assert client.get_model_version_by_alias(MODEL, "champion").version == 1
    output = run_ok(project, "deploy_model.py")
    assert FAULTS[2].message in output
    assert client.get_model_version_by_alias(MODEL, "champion").version == int(orphan.version) == 2


@pytest.mark.slow
def test_changed_model_files_are_refused(champion_project, tmp_path):
    project = copy_of(champion_project, tmp_path)
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    newest = max(
        (project.root / "mlartifacts").glob("models/*/artifacts/model.skops"),
        key=lambda p: p.stat().st_mtime,
    )
    newest.write_bytes(newest.read_bytes() + b"\0")
    result = project.run("deploy_model.py")
    assert_clean_failure(result, FAULTS[3].message)
    assert result.returncode == 3
    assert (
        MlflowClient(project.tracking_uri).get_model_version_by_alias(MODEL, "champion").version
        == 1
    )


@pytest.mark.slow
def test_concurrent_deploys_end_cleanly(project: Project):
    outputs = {}
    for name in ("a", "b"):
        outputs[name] = str(project.root / f"outputs-{name}")
        run_ok(project, "train_model.py", PIPELINE_OUTPUTS=outputs[name])
        run_ok(project, "evaluate_model.py", PIPELINE_OUTPUTS=outputs[name])
    processes = [
        subprocess.Popen(
            [sys.executable, str(REPO / "deploy_model.py"), "--config", str(project.config_path)],
            env=clean_env(PIPELINE_OUTPUTS=outputs[name]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in outputs
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    refused = next(err for code, _, err in results if code == 3)
    assert FAULTS[4].message in refused and "Traceback" not in refused
    assert "database is locked" not in "".join(out + err for _, out, err in results)
    client = MlflowClient(project.tracking_uri)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.tags["gate.decision"] == "passed" and champion.tags["model.sha256"]


if __name__ == "__main__":
    DOC.write_text(render_doc())
    print(f"wrote {DOC.relative_to(REPO)}")
