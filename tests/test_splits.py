"""The split rules of mlops/splits.py on generated awkward tables: times read from text in
many shapes (and text that is not times), the time boundary with ties, whole groups on one
side, and inner folds that follow the same rule."""

import numpy as np
import pandas as pd
import pytest

from mlops.config import Config
from mlops.errors import PipelineError
from mlops.splits import (
    cross_validation_folds,
    group_folds,
    holdout_split,
    most_recent,
    parse_times,
    split_words,
    training_folds,
)

SEEDS = (0, 1, 2, 3)


def random_days(rng: np.random.Generator, rows: int, days: int) -> pd.Series:
    """Timestamps over `days` days, many rows sharing a day, in no particular order."""
    start = pd.Timestamp("2021-03-01", tz="UTC")
    return pd.Series(start + pd.to_timedelta(rng.integers(0, days, rows), unit="D"))


# ---------------------------------------------------------------- reading times


@pytest.mark.parametrize("seed", SEEDS)
def test_times_in_every_common_shape_read_in_their_true_order(seed):
    rng = np.random.default_rng(seed)
    truth = pd.Series(
        pd.Timestamp("2019-11-28 06:00", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 400 * 24 * 60, 300), unit="min")
    )
    offsets = rng.choice([-5, 0, 1, 9], len(truth))
    day = truth.dt.floor("D")
    shapes = {  # text -> the instants it must read as
        "ISO dates": (truth.dt.strftime("%Y-%m-%d"), day),
        "ISO date and time": (truth.dt.strftime("%Y-%m-%d %H:%M:%S"), truth),
        "ISO with Z": (truth.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), truth),
        # The same instants written in several time zones: ordered as instants, not as text.
        "offsets": (
            pd.Series(
                [
                    (t + pd.Timedelta(hours=int(o))).strftime("%Y-%m-%dT%H:%M:%S") + f"{o:+03d}:00"
                    for t, o in zip(truth, offsets, strict=True)
                ]
            ),
            truth,
        ),
        "day-first": (truth.dt.strftime("%d/%m/%Y"), day),
        "month-first": (truth.dt.strftime("%m/%d/%Y"), day),
        "day-first with dots": (truth.dt.strftime("%d.%m.%Y"), day),
        "month names": (truth.dt.strftime("%b %d, %Y"), day),
        "padded": (" " + truth.dt.strftime("%Y-%m-%d") + " ", day),
    }
    for shape, (text, expected) in shapes.items():
        assert (parse_times(text).to_numpy() == expected.to_numpy()).all(), shape


def test_text_that_is_not_times_is_refused_with_an_example():
    refused = {
        "a few dates in text": (["2021-01-01", "soon", "2021-01-03"], "'soon' does not read"),
        "words": (["red", "green", "blue"], "'red' does not read"),
        "codes": (["A1", "B2", "C3"], "'A1' does not read"),
        "times of day": (["10:30", "11:00", "12:15"], "'10:30' does not read"),
        "empty text": (["2021-01-01", " ", "2021-01-03"], "'' does not read"),
        "relative": (["2021-01-01", "today"], "'today' is a moment relative"),
        "ambiguous": (["01/02/2021", "02/01/2021", "03/04/2021"], "day-first and month-first"),
        "true/false": ([True, False, True], "true/false"),
    }
    for case, (values, message) in refused.items():
        with pytest.raises(ValueError) as error:
            parse_times(pd.Series(values))
        assert message in str(error.value), case


def test_numbers_are_ordered_as_numbers_and_gaps_stay_gaps():
    assert parse_times(pd.Series([2021, 2019, 2020])).tolist() == [2021.0, 2019.0, 2020.0]
    read = parse_times(pd.Series(["2021-01-02", None, "2021-01-01"]))
    assert read.isna().tolist() == [False, True, False] and read[0] > read[2]
    # Day and month equal in every value: both readings give one order, so it is no problem.
    assert parse_times(pd.Series(["01/01/2021", "02/02/2021"])).is_monotonic_increasing


# ---------------------------------------------------------------- the boundary


@pytest.mark.parametrize("seed", SEEDS)
def test_the_held_out_period_starts_after_training_ends_and_keeps_its_ties(seed):
    rng = np.random.default_rng(seed)
    times = random_days(rng, int(rng.integers(50, 2000)), int(rng.integers(3, 60)))
    fraction = float(rng.uniform(0.05, 0.5))
    held_out = most_recent(times, fraction)
    boundary = times[held_out].min()
    assert times[~held_out].max() < boundary  # no row of the evaluation period trains
    assert held_out[times == boundary].all()  # the boundary day is held out whole
    wanted = int(np.ceil(fraction * len(times)))
    assert held_out.sum() >= wanted > (held_out & (times > boundary)).sum()
    shuffled = times.sample(frac=1, random_state=seed)  # the file's order does not matter
    assert most_recent(shuffled, fraction).sort_index().equals(held_out)


def config_for(tmp_path, frame: pd.DataFrame, task: str, **split) -> Config:
    """A config for `frame` (written beside it) with its columns x (a number) and g (a category)."""
    frame.to_csv(tmp_path / "t.csv", index=False)
    classification = {"positive_class": "yes"} if task == "classification" else {}
    return Config.model_validate(
        {
            "data": {
                "path": "t.csv",
                "target": "y",
                "task": task,
                **classification,
                "numeric_features": ["x"],
                "categorical_features": [],
                "expectation_suite": "t",
            },
            "split": {"test_fraction": 0.2, "seed": 0, **split},
            "model": {"estimator": "linear"},
            "metrics": ["roc_auc"] if task == "classification" else ["rmse"],
            "gate": {"thresholds": {}},
            "mlflow": {"experiment": "t", "registered_model": "t"},
            "root": tmp_path,
        }
    )


def table(rng: np.random.Generator, rows: int, task: str) -> pd.DataFrame:
    days = random_days(rng, rows, 40)
    return pd.DataFrame(
        {
            "when": days.dt.strftime("%d/%m/%Y"),  # day-first text, in no order
            "customer": rng.integers(0, 60, rows).astype(str),
            "x": rng.normal(size=rows),
            "y": rng.choice(["yes", "no"], rows)
            if task == "classification"
            else rng.normal(size=rows),
        }
    )


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_time_split_says_which_period_trained_and_which_was_scored(tmp_path, task):
    frame = table(np.random.default_rng(5), 900, task)
    split = holdout_split(frame, config_for(tmp_path, frame, task, time_column="when"))
    times = parse_times(frame["when"])
    assert times[split.x_train.index].max() < times[split.x_test.index].min()
    about = split.about
    assert about["rule"] == "time" and about["column"] == "when"
    assert about["training"]["rows"] == len(split.x_train)
    assert about["evaluation"]["rows"] == len(split.x_test) >= 180
    for side, rows in (("training", split.x_train.index), ("evaluation", split.x_test.index)):
        first, last = about[side]["first"], about[side]["last"]  # as the file writes them
        assert times[frame["when"] == first].iloc[0] == times[rows].min()
        assert times[frame["when"] == last].iloc[0] == times[rows].max()
    evaluated, trained = about["evaluation"], about["training"]
    assert split_words(about) == (
        f"Held out: the {len(split.x_test):,} most recent rows by when, {evaluated['first']} to "
        f"{evaluated['last']}; trained on the {len(split.x_train):,} older ones, "
        f"{trained['first']} to {trained['last']}."
    )


# ---------------------------------------------------------------- groups


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_no_group_is_on_both_sides_and_the_report_counts_them(tmp_path, seed, task):
    rng = np.random.default_rng(seed)
    frame = table(rng, int(rng.integers(300, 1500)), task)
    # Groups of very different sizes: one large customer, many small ones.
    frame.loc[frame.index[: len(frame) // 6], "customer"] = "big"
    fraction = float(rng.choice([0.15, 0.2, 0.25, 0.3]))
    config = config_for(tmp_path, frame, task, group_column="customer", test_fraction=fraction)
    split = holdout_split(frame, config)
    trained = set(frame.loc[split.x_train.index, "customer"])
    held = set(frame.loc[split.x_test.index, "customer"])
    assert not trained & held and trained | held == set(frame["customer"])
    about = split.about
    assert about["folds"] == group_folds(fraction) == round(1 / fraction)
    assert about["training"] == {"rows": len(split.x_train), "groups": len(trained)}
    assert about["evaluation"] == {"rows": len(split.x_test), "groups": len(held)}
    if task == "classification":
        assert set(split.y_test) == set(split.y_train) == {"yes", "no"}
    words = split_words(about)
    share = len(split.x_test) / len(frame)
    assert (
        f"{len(held)} whole group(s) of customer ({len(split.x_test):,} rows, {share:.1%}" in words
    )


# ---------------------------------------------------------------- inner folds


@pytest.mark.parametrize("seed", SEEDS)
def test_time_ordered_folds_validate_on_later_periods_and_never_split_a_time(seed):
    rng = np.random.default_rng(seed)
    times = random_days(rng, 600, int(rng.integers(8, 50)))
    target = pd.Series(rng.choice(["a", "b"], len(times)))
    folds = cross_validation_folds(target, "classification", 5, seed, times=times)
    assert 1 <= len(folds) <= 5
    for train, test in folds:
        assert times.iloc[train].max() < times.iloc[test].min()
        assert not set(times.iloc[train]) & set(times.iloc[test])
        assert target.iloc[train].nunique() == 2
    starts = [times.iloc[test].min() for _, test in folds]
    assert starts == sorted(starts)


def test_a_time_ordered_fold_that_trains_on_one_class_is_dropped():
    times = pd.Series(np.repeat(np.arange(12), 10).astype(float))
    target = pd.Series(np.where(times < 4, "a", np.resize(["a", "b"], 120)))
    folds = cross_validation_folds(target, "classification", 5, 0, times=times)
    assert len(folds) == 3  # the first two train on days 0-3 only, where every row is "a"
    with pytest.raises(PipelineError, match="split.time_column: 3 distinct time"):
        cross_validation_folds(target, "classification", 5, 0, times=times.clip(upper=2))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_grouped_folds_keep_each_group_on_one_side(task):
    rng = np.random.default_rng(9)
    groups = pd.Series(rng.integers(0, 30, 500))
    target = pd.Series(rng.choice(["a", "b"], 500) if task == "classification" else rng.random(500))
    folds = cross_validation_folds(target, task, 4, 0, groups=groups)
    assert len(folds) == 4
    for train, test in folds:
        assert not set(groups.iloc[train]) & set(groups.iloc[test])
    assert sorted(np.concatenate([test for _, test in folds])) == list(range(500))
    with pytest.raises(PipelineError, match="split.group_column: 3 group"):
        cross_validation_folds(target, task, 4, 0, groups=groups % 3)


def test_training_folds_read_the_times_as_the_split_read_the_whole_column(tmp_path):
    """Day-first dates whose older part alone (every day 12 or less) reads both ways: the
    inner folds take the split's own reading, not a second guess from the part."""
    older = ["01/02/2024", "02/01/2024", "03/04/2024", "04/03/2024"] * 6
    newer = [f"{day}/12/2024" for day in range(20, 26)]
    days = pd.Series(older + newer)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"when": days, "x": rng.normal(size=len(days)), "y": ["yes", "no"] * (len(days) // 2)}
    )
    with pytest.raises(ValueError, match="day-first and month-first"):
        parse_times(frame["when"].iloc[: len(older)])  # the training part, read on its own
    config = config_for(tmp_path, frame, "classification", time_column="when")
    held = holdout_split(frame, config)
    assert held.times is not None
    assert held.times.iloc[0] == pd.Timestamp("2024-02-01", tz="UTC")  # day-first, as a whole
    for train, test in training_folds(config, held, folds=3):
        rows_train, rows_test = held.x_train.index[train], held.x_train.index[test]
        assert held.times[rows_train].max() < held.times[rows_test].min()


@pytest.mark.parametrize(
    ("split", "check"),
    [
        ({"time_column": "when"}, "time"),
        ({"group_column": "customer"}, "group"),
        ({}, "random"),
    ],
)
def test_training_folds_follow_the_held_out_rule_on_training_rows(tmp_path, split, check):
    frame = table(np.random.default_rng(2), 800, "classification")
    config = config_for(tmp_path, frame, "classification", **split)
    held = holdout_split(frame, config)
    folds = training_folds(config, held)
    assert len(folds) == 5
    positions = np.arange(len(held.x_train))
    for train, test in folds:
        assert set(train) | set(test) <= set(positions)
        rows_train, rows_test = held.x_train.index[train], held.x_train.index[test]
        if check == "time":
            times = parse_times(frame["when"])
            assert times[rows_train].max() < times[rows_test].min()
        elif check == "group":
            assert not set(frame.loc[rows_train, "customer"]) & set(
                frame.loc[rows_test, "customer"]
            )
        else:
            assert (
                abs(held.y_train.iloc[test].eq("yes").mean() - held.y_train.eq("yes").mean()) < 0.05
            )


# ---------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    ("edit", "split", "message"),
    [
        (lambda f: f.assign(when="someday"), {"time_column": "when"}, "'someday' does not read"),
        (
            lambda f: f.assign(when=f["when"].where(f.index != 7)),
            {"time_column": "when"},
            "split.time_column 'when' is empty in 1 row(s) (e.g. row 7",
        ),
        (
            lambda f: f.assign(when="01/01/2021"),
            {"time_column": "when"},
            "every row has the same time (01/01/2021)",
        ),
        (lambda f: f, {"time_column": "day"}, "split.time_column: no column 'day'"),
        (
            lambda f: f.assign(customer="c1"),
            {"group_column": "customer"},
            "has a single group ('c1'); holding out split.test_fraction 0.2 takes 5 folds",
        ),
        (
            lambda f: f.assign(customer=f.index % 4),
            {"group_column": "customer"},
            "split.group_column 'customer' has 4 groups; holding out",
        ),
        (
            lambda f: f.assign(
                y=np.where(parse_times(f["when"]).rank(pct=True) > 0.7, "no", f["y"])
            ),
            {"time_column": "when"},
            "the held-out rows hold no row of class 'yes'",
        ),
    ],
    ids=["unreadable", "gap", "one-day", "no-column", "one-group", "few-groups", "class-absent"],
)
def test_bad_split_settings_are_refused_naming_the_key(tmp_path, edit, split, message):
    frame = edit(table(np.random.default_rng(4), 300, "classification"))
    config = config_for(tmp_path, frame, "classification", **split)
    with pytest.raises(PipelineError, match="split.") as refused:
        holdout_split(frame, config)
    assert message in str(refused.value) and "t.csv" in str(refused.value)


def test_both_rules_at_once_and_a_split_on_the_target_are_refused(tmp_path):
    frame = table(np.random.default_rng(4), 50, "classification")
    with pytest.raises(ValueError, match="time_column and group_column are both set"):
        config_for(tmp_path, frame, "classification", time_column="when", group_column="customer")
    with pytest.raises(ValueError, match="split.group_column is the target 'y'"):
        config_for(tmp_path, frame, "classification", group_column="y")
