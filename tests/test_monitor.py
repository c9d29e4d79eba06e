"""monitor_model.py for real: a deployed fixture project's champion against batches of new data,
shifted or not, from a path, a glob or a URL; and every bad input it must refuse clearly."""

import functools
import http.server
import json
import threading

import numpy as np
import pandas as pd
import pytest

from tests.conftest import CLASSIFICATION, REGRESSION, Project, copy_of, make_project

pytestmark = pytest.mark.slow


def deployed_project(tmp_path_factory, fixture: str) -> Project:
    project = make_project(tmp_path_factory.mktemp(f"monitored-{fixture}"), fixture)
    result = project.run("run_pipeline.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project.outputs / "deployment.json").is_file(), result.stdout
    return project


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    return deployed_project(tmp_path_factory, CLASSIFICATION)


def batch_of(project: Project, rows: int = 800, seed: int = 4) -> pd.DataFrame:
    """New rows like the training data's, without the target (not known yet)."""
    frame = pd.read_csv(project.data_path)
    rng = np.random.default_rng(seed)
    batch = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    return batch.drop(columns=project.target)


def shift(project: Project, batch: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A numeric feature moved by one standard deviation and a new category in 20% of rows."""
    config = project.config()["data"]
    numeric, category = config["numeric_features"][0], config["categorical_features"][0]
    frame = pd.read_csv(project.data_path)
    batch = batch.copy()
    batch[numeric] = batch[numeric] + frame[numeric].std()
    batch.loc[np.random.default_rng(0).random(len(batch)) < 0.2, category] = "brand-new"
    return batch, [numeric, category]


def monitor(project: Project, *args: str):
    return project.run("monitor_model.py", *args)


def test_a_shifted_batch_is_reported_with_plots_and_exit_zero(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    batch, moved = shift(project, batch_of(project))
    batch.assign(channel="web").to_csv(project.root / "data" / "new.csv", index=False)
    result = monitor(project, "--data", "data/new.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    drift = json.loads((project.outputs / "drift.json").read_text())
    assert set(moved) <= set(drift["drifted_features"]) and drift["drifted"]
    assert drift["new_columns"] == ["channel"] and drift["rows"] == len(batch)
    assert drift["champion"]["version"] == "1"
    features = {item["name"]: item for item in drift["features"]}
    for item in features.values():  # what each feature reports, numbers or categories
        assert {"missing", "psi", "test", "drifted", "reasons", "severity"} <= set(item)
        assert item["psi"]["threshold"] == 0.2
    report = (project.outputs / "drift.md").read_text()
    assert report.startswith(f"## Drift: `{project.model_name}` v1 on `data/new.csv`\n⚠️ **Drift")
    assert "`channel`" in report
    plots = sorted(path.stem for path in (project.outputs / "drift").glob("*.png"))
    assert set(moved) <= set(plots)
    # The terminal gets text: the same finding and table, aligned, and where the files are.
    shown = result.stdout
    assert f"Drift: {project.model_name} v1 on data/new.csv\n⚠️ Drift in" in shown
    assert "| feature |" not in shown and "**" not in shown and "`" not in shown
    assert "not used by the model): channel" in shown
    for name in moved:
        assert f"outputs/drift/{name}.png" in shown
        assert any(line.startswith(f"{name} ") and "⚠️ yes" in line for line in shown.splitlines())
    assert "report for GitHub (markdown): outputs/drift.md" in shown
    failing = monitor(project, "--data", "data/new.csv", "--fail-on-drift")
    assert failing.returncode == 1 and "Traceback" not in failing.stderr


def test_a_batch_like_the_training_data_shows_no_drift(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    batch_of(project, seed=8).to_csv(project.root / "data" / "same.csv", index=False)
    result = monitor(project, "--data", "data/same.csv", "--fail-on-drift")
    assert result.returncode == 0, result.stdout + result.stderr
    drift = json.loads((project.outputs / "drift.json").read_text())
    assert drift["drifted_features"] == [] and not drift["drifted"], drift["drifted_features"]
    assert "✅ No drift" in result.stdout and "Full figures" not in result.stdout
    assert not list((project.outputs / "drift").glob("*.png"))


def test_the_configured_glob_and_a_url_are_read(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    exports = project.root / "exports"
    exports.mkdir()
    shifted, _ = shift(project, batch_of(project))
    batch_of(project).to_csv(exports / "2026-01-01.csv", index=False)
    shifted.to_csv(exports / "2026-02-01.csv", index=False)  # the newest by name
    config = project.config()
    config["monitoring"]["data"] = "exports/*.csv"
    project.write_config(config)
    result = monitor(project)
    assert result.returncode == 0, result.stdout + result.stderr
    drift = json.loads((project.outputs / "drift.json").read_text())
    assert drift["data"] == "exports/2026-02-01.csv" and drift["drifted"]

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(exports))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/2026-01-01.csv"
        fetched = monitor(project, "--data", url)
        missing = monitor(project, "--data", url.replace("2026-01-01", "1999-01-01"))
        config["data"]["max_file_mb"] = 0.001  # a kilobyte: the download stops there
        project.write_config(config)
        too_large = monitor(project, "--data", url)
    finally:
        server.shutdown()
        thread.join()
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert json.loads((project.outputs / "drift.json").read_text())["data"] == url
    assert missing.returncode == 2 and "could not be downloaded: HTTP Error 404" in missing.stderr
    assert too_large.returncode == 2
    assert "larger than data.max_file_mb (0.001 MB)" in too_large.stderr, too_large.stderr


def write(project: Project, name: str, text: str) -> str:
    (project.root / "data" / name).write_text(text)
    return f"data/{name}"


@pytest.mark.parametrize(
    ("make_batch", "message"),
    [
        (lambda p: "data/absent.csv", "data/absent.csv: data file not found"),
        (
            lambda p: write(p, "header.csv", ",".join(batch_of(p).columns) + "\n"),
            "header.csv: has a header but no rows",
        ),
        (
            lambda p: write(
                p,
                "short.csv",
                batch_of(p)
                .drop(columns=p.config()["data"]["numeric_features"][0])
                .to_csv(index=False),
            ),
            "does not match the model's input schema",
        ),
        (
            lambda p: write(
                p,
                "text.csv",
                batch_of(p)
                .astype({p.config()["data"]["numeric_features"][0]: "object"})
                .assign(**{p.config()["data"]["numeric_features"][0]: "lots"})
                .to_csv(index=False),
            ),
            "expected numbers, found e.g. 'lots'",
        ),
    ],
    ids=["missing-file", "empty-batch", "missing-column", "text-in-a-numeric-column"],
)
def test_unusable_batches_are_refused_with_one_message(deployed, tmp_path, make_batch, message):
    project = copy_of(deployed, tmp_path)
    result = monitor(project, "--data", make_batch(project))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1
    assert not (project.outputs / "drift.json").exists()


def test_no_champion_and_no_batch_are_said_plainly(tmp_path):
    project = make_project(tmp_path)
    batch_of(project).to_csv(project.root / "data" / "new.csv", index=False)
    no_champion = monitor(project, "--data", "data/new.csv")
    assert no_champion.returncode == 2
    assert f"{project.model_name} has no @champion yet: nothing to monitor" in no_champion.stderr
    unconfigured = monitor(project)
    assert unconfigured.returncode == 2
    assert "monitoring.data: no batch to monitor" in unconfigured.stderr
    skipped = monitor(project, "--skip-unconfigured")
    assert skipped.returncode == 0 and "Drift monitoring is not configured" in skipped.stdout


def test_regression_predictions_and_features_are_monitored(tmp_path_factory):
    project = deployed_project(tmp_path_factory, REGRESSION)
    batch, moved = shift(project, batch_of(project))
    batch.to_csv(project.root / "data" / "new.csv", index=False)
    result = monitor(project, "--data", "data/new.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    drift = json.loads((project.outputs / "drift.json").read_text())
    assert set(moved) <= set(drift["drifted_features"])
    assert drift["prediction"]["kind"] == "numeric" and drift["prediction"]["psi"] is not None
