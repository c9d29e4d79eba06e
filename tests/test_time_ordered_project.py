"""A time-stamped project as a fork runs it, through make: `make adapt` takes the column of
dates for split.time_column, `make pipeline` trains on the older days and scores the most
recent ones, `make monitor` compares a new batch with the training period. Then the same
project split by city: no city on both sides, and the champion scored on the same rows."""

import json
import math
import shutil
import subprocess

import pandas as pd
import pytest

from tests.conftest import FIXTURES, REPO, TIME_ORDERED, Project, clean_env, copy_of

pytestmark = pytest.mark.slow

DATA = "data/city_weather.csv"
TARGET = "rain"
# The newest days of the file, without the target, stand in for a batch of new rows.
BATCH_DAYS = 60


def make(project: Project, *args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args],
        env=clean_env(PIPELINE_CONFIG=str(project.config_path)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in output, f"make {args[0]}:\n{output}"
    return result.stdout


@pytest.fixture(scope="module")
def adapted(tmp_path_factory) -> tuple[Project, dict[str, str]]:
    """The fixture's CSV alone in a new project, then make adapt, pipeline and monitor."""
    project = Project(tmp_path_factory.mktemp("time-ordered"))
    (project.root / "data").mkdir()
    shutil.copy2(FIXTURES / TIME_ORDERED / DATA, project.root / DATA)
    frame = pd.read_csv(project.root / DATA)
    newest = sorted(frame["date"].unique())[-BATCH_DAYS:]
    batch = frame[frame["date"].isin(newest)].drop(columns=TARGET)
    batch.to_csv(project.root / "data" / "batch.csv", index=False)
    printed = {
        "adapt": make(project, "adapt", f"DATA={DATA}", f"TARGET={TARGET}"),
        "pipeline": make(project, "pipeline"),
        "monitor": make(project, "monitor", "DATA=data/batch.csv"),
    }
    return project, printed


def expected_periods(frame: pd.DataFrame, fraction: float) -> tuple[pd.Series, str]:
    """Rows held out, worked out here from the rule: from the date of the row at the
    fraction mark (rows in date order) on, every row of that date included."""
    dates = frame["date"].sort_values(kind="stable")
    boundary = dates.iloc[len(dates) - math.ceil(fraction * len(dates))]
    return frame["date"] >= boundary, boundary  # ISO dates order as text


def test_adapt_proposes_the_dates_and_the_pipeline_holds_out_the_newest_days(adapted):
    project, printed = adapted
    assert "date                     time" in printed["adapt"]
    assert "5 time-ordered folds" in printed["adapt"]
    config = project.config()
    assert config["split"]["time_column"] == "date" and "date" not in (
        config["data"]["numeric_features"] + config["data"]["categorical_features"]
    )
    frame = pd.read_csv(project.data_path)
    held_out, boundary = expected_periods(frame, config["split"]["test_fraction"])
    predictions = pd.read_csv(project.outputs / "holdout_predictions.csv", index_col="row")
    assert set(predictions.index) == set(frame.index[held_out])  # the boundary day whole
    assert (frame.loc[held_out, "date"] == boundary).sum() == 5  # one row per city
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    training_dates, held_dates = frame.loc[~held_out, "date"], frame.loc[held_out, "date"]
    assert evaluation["split"] == {
        "rule": "time",
        "column": "date",
        "training": {
            "rows": int((~held_out).sum()),
            "first": training_dates.min(),
            "last": training_dates.max(),
        },
        "evaluation": {"rows": int(held_out.sum()), "first": boundary, "last": held_dates.max()},
    }
    sentence = (
        f"the {held_out.sum():,} most recent rows by `date`, {boundary} to {held_dates.max()}; "
        f"trained on the {(~held_out).sum():,} older ones, {training_dates.min()} to "
        f"{training_dates.max()}."
    )
    assert sentence in (project.outputs / "evaluation.md").read_text()
    assert sentence.replace("`", "") in printed["pipeline"]
    assert "as @champion" in printed["pipeline"]
    # The intervals resample blocks of consecutive held-out days, all cities of a day together.
    days = frame.loc[held_out, "date"].nunique()
    block = round(days ** (1 / 3))
    assert evaluation["resampling"] == {
        "by": "blocks",
        "times": days,
        "block": block,
        "blocks": math.ceil(days / block),
        "shortfall": None,
    }
    assert (
        f"1,000 resamples of {math.ceil(days / block)} blocks of {block} consecutive times of "
        f"`date` (circular, over its {days} distinct held-out times"
    ) in (project.outputs / "evaluation.md").read_text()


def test_monitoring_compares_the_batch_with_the_training_period(adapted):
    project, printed = adapted
    drift = json.loads((project.outputs / "drift.json").read_text())
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    training = evaluation["split"]["training"]
    assert drift["reference_rows"] == training["rows"]  # the features of the training period
    batch = pd.read_csv(project.root / "data" / "batch.csv")
    assert drift["periods"] == {
        "column": "date",
        "training": training,
        "batch": {"first": batch["date"].min(), "last": batch["date"].max()},
    }
    periods = (
        f"Batch: {len(batch):,} rows ({batch['date'].min()} to {batch['date'].max()} by `date`) · "
        f"reference: {training['rows']:,} training rows of version 1 ({training['first']} to "
        f"{training['last']} by `date`)"
    )
    assert periods in (project.outputs / "drift.md").read_text()
    assert periods.replace("`", "") in printed["monitor"]  # the terminal's text


def test_split_by_city_no_city_is_on_both_sides_and_the_champion_scores_the_same_rows(
    adapted, tmp_path
):
    project = copy_of(adapted[0], tmp_path)
    config = project.config()
    config["split"] = {"test_fraction": 0.2, "seed": 42, "group_column": "city"}
    project.write_config(config)
    for script in ("train_model.py", "evaluate_model.py"):
        result = project.run(script)
        assert result.returncode == 0, result.stdout + result.stderr
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    frame = pd.read_csv(project.data_path)
    predictions = pd.read_csv(project.outputs / "holdout_predictions.csv", index_col="row")
    held_cities = set(frame.loc[predictions.index, "city"])
    assert held_cities.isdisjoint(frame.loc[~frame.index.isin(predictions.index), "city"])
    assert evaluation["split"] == {
        "rule": "group",
        "column": "city",
        "folds": 5,
        "training": {"rows": len(frame) - len(predictions), "groups": 5 - len(held_cities)},
        "evaluation": {"rows": len(predictions), "groups": len(held_cities)},
    }
    # The champion (trained on the time split) is scored on the held-out city too.
    rows = len(predictions)
    assert evaluation["champion"]["version"] == "1" and evaluation["holdout_rows"] == rows
    assert rows == frame["city"].isin(held_cities).sum()
    report = (project.outputs / "evaluation.md").read_text()
    assert f"Scored on the same {rows:,} held-out rows as champion v1." in report
    assert (
        f"Held out: {len(held_cities)} whole group(s) of `city` ({rows:,} rows, "
        f"{rows / len(frame):.1%}: one of 5 folds)"
    ) in report
    # One held-out city is no sample of cities: no interval, and the rule that needs one
    # refuses the candidate, saying why.
    why = (
        f"the held-out rows hold {len(held_cities)} group(s) of split.group_column, and a "
        "bootstrap of whole groups needs at least 20"
    )
    assert evaluation["resampling"] == {"by": "groups", "groups": 1, "shortfall": why}
    assert all(c["interval"] is None and c["delta_interval"] is None for c in evaluation["checks"])
    assert evaluation["decision"] == "rejected"
    for metric in config["gate"]["champion_tolerance"]:
        reason = f"{metric}: no interval of the difference, which non_inferiority needs: {why}"
        assert reason in evaluation["reasons"]
    assert f"No intervals: {why}. Hold out more of them" in report
