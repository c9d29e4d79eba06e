"""How rows are split, by one rule (config.yaml's `split`) for the held-out part every step
scores on and for every cross-validation inside the training part:

- at random (the default): seeded, stratified on the target for classification;
- by time (`split.time_column`): the most recent `test_fraction` of the rows are held out,
  with every row that shares the boundary time, so training ends strictly before the
  held-out period starts; inner folds are time-ordered too (each validates on a later
  period than it trains on);
- by group (`split.group_column`): each group (a customer, a patient, a device) lies wholly
  on one side. scikit-learn's StratifiedGroupKFold for classification (GroupKFold for
  regression) cuts the rows into round(1 / test_fraction) folds of whole groups, and the
  fold whose share of the rows is closest to `test_fraction` is held out.
"""

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.config import Config
from mlops.data import split_features_target
from mlops.errors import PipelineError
from mlops.markdown import cell
from mlops.metrics import Task

# Text a time column may hold, as messages show it.
EXAMPLE_TIMES = "2024-01-31, 2024-01-31 08:00 or 2024-01-31T08:00:00+01:00"
# Folds of a cross-validation inside the training rows (scikit-learn's default).
INNER_FOLDS = 5


@dataclass(frozen=True)
class Split:
    """The held-out split every step uses; rows keep their index in the data file, whose
    every column `frame` holds (a champion may take columns the config no longer lists).
    `about` says how the rows were split, as evaluation.json and the report show it. `times`:
    the time column as the split read it (every row), for a time-ordered split; later steps
    take it from here, since a part of the column alone could read in another format."""

    frame: pd.DataFrame
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    about: dict[str, Any]
    times: pd.Series | None = None


# ---------------------------------------------------------------- times


def parse_times(values: pd.Series) -> pd.Series:
    """`values` as points in time to order rows by, or a ValueError saying why they are not.

    Numbers are taken as they are (a year, a period number, a Unix time). Text is read as
    ISO 8601 dates and times (a time zone allowed, every value converted to UTC), else in the
    one format pandas guesses from the first value, month-first or day-first: whichever reads
    every value; when both do and order the rows differently the reading is ambiguous and
    refused. A value that reads as no date refuses the whole column (a text column with a few
    dates in it is not a time). Missing values stay missing.
    """
    if pd.api.types.is_bool_dtype(values):
        raise ValueError("true/false values, not times")
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    present = values.dropna()
    if present.empty:
        raise ValueError("no values at all")
    # The first value rules out most text at once, before the whole column is converted.
    first = str(present.iloc[0]).strip()
    formats = [format_ for format_ in _formats(first) if _reads(first, format_)]
    if not formats:
        raise ValueError(
            f"{first!r} does not read as a date or time (expected e.g. {EXAMPLE_TIMES})"
        )
    text = present.astype(str).str.strip()
    relative = text[text.str.lower().isin(["now", "today"])]
    if len(relative):
        raise ValueError(f"{relative.iloc[0]!r} is a moment relative to the day it is read")
    readings = []
    for format_ in formats:
        try:
            reading = pd.to_datetime(text, format=format_, utc=True)
        except (ValueError, OverflowError):
            continue
        if reading.notna().all():  # an empty or "NaT" text reads as no time
            readings.append(reading)
            if format_ == "ISO8601":
                break
    if not readings:
        raise ValueError(
            f"{_first_unread(text, formats)!r} does not read as a date or time (expected e.g. "
            f"{EXAMPLE_TIMES})"
        )
    orders = [np.argsort(reading.to_numpy(), kind="stable") for reading in readings]
    if any(not np.array_equal(orders[0], order) for order in orders[1:]):
        raise ValueError(
            f"values such as {text.iloc[0]!r} read both day-first and month-first, in different "
            "orders; write them as YYYY-MM-DD"
        )
    return readings[0].reindex(values.index)


def _formats(first: str) -> list[str]:
    """ISO 8601 first, then the month-first and day-first formats guessed from one value."""
    from pandas.tseries.api import guess_datetime_format

    with warnings.catch_warnings():  # pandas warns when a guess contradicts `dayfirst`
        warnings.simplefilter("ignore", UserWarning)
        guessed = [guess_datetime_format(first, dayfirst=dayfirst) for dayfirst in (False, True)]
    return ["ISO8601", *dict.fromkeys(g for g in guessed if g)]


def _reads(value: str, format_: str) -> bool:
    try:
        pd.to_datetime(value, format=format_, utc=True)
    except (ValueError, OverflowError):
        return False
    return True


def _first_unread(text: pd.Series, formats: list[str]) -> str:
    """A value that the format reading most of the column does not read (for the message)."""
    unread = [
        text[pd.to_datetime(text, format=format_, utc=True, errors="coerce").isna()]
        for format_ in formats
    ]
    return str(min(unread, key=len).iloc[0])


def _raw(value: Any) -> Any:
    """A value of the file as JSON holds it: numbers as numbers, anything else as text."""
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float) else str(value)


def _column(frame: pd.DataFrame, key: str, column: str, path: Path) -> pd.Series:
    """The split's column, complete, or a PipelineError naming the key."""
    if column not in frame.columns:
        raise PipelineError(
            f"{path}: split.{key}: no column {column!r} in the file; columns: {list(frame.columns)}"
        )
    values = frame[column]
    missing = values.isna()
    if missing.any():
        raise PipelineError(
            f"{path}: split.{key} {column!r} is empty in {int(missing.sum())} row(s) (e.g. row "
            f"{values.index[missing][0]}, counted from 0); every row needs one to be split by"
        )
    return values


def _times(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = _column(frame, "time_column", column, path)
    try:
        times = parse_times(values)
    except ValueError as error:
        raise PipelineError(f"{path}: split.time_column {column!r}: {error}") from None
    if times.nunique() < 2:
        raise PipelineError(
            f"{path}: split.time_column {column!r}: every row has the same time "
            f"({values.iloc[0]}); there is no older and newer to split"
        )
    return times


def most_recent(times: pd.Series, test_fraction: float) -> pd.Series:
    """True for the held-out rows: from the time of the row at the `test_fraction` mark (rows
    in time order) on, so every row sharing that time is held out with it."""
    ordered = np.sort(times.to_numpy())
    boundary = ordered[len(ordered) - math.ceil(test_fraction * len(ordered))]
    return times >= boundary


def _period(raw: pd.Series, times: pd.Series, rows: pd.Series) -> dict[str, Any]:
    """Row count and the first and last time of `rows`, as the file writes them."""
    part = times[rows]
    return {
        "rows": int(rows.sum()),
        "first": _raw(raw[part.idxmin()]),
        "last": _raw(raw[part.idxmax()]),
    }


# ---------------------------------------------------------------- groups


def group_folds(test_fraction: float) -> int:
    """Folds of whole groups whose one held out comes closest to `test_fraction`: 0.2 → 5."""
    return max(2, round(1 / test_fraction))


def _group_splitter(task: Task, folds: int, seed: int) -> Any:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if task == "classification":
        return StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    return GroupKFold(folds, shuffle=True, random_state=seed)


def _groups(frame: pd.DataFrame, column: str, test_fraction: float, path: Path) -> pd.Series:
    groups = _column(frame, "group_column", column, path)
    count, folds = groups.nunique(), group_folds(test_fraction)
    if count < folds:
        found = f"a single group ({groups.iloc[0]!r})" if count == 1 else f"{count} groups"
        raise PipelineError(
            f"{path}: split.group_column {column!r} has {found}; holding out "
            f"split.test_fraction {test_fraction:g} takes {folds} folds of whole groups (one "
            f"held out), so it needs at least {folds}"
        )
    return groups


def held_out_groups(
    groups: pd.Series, target: pd.Series, task: Task, test_fraction: float, seed: int
) -> pd.Series:
    """True for the held-out rows: the fold of whole groups (of `group_folds`) whose share of
    the rows is closest to `test_fraction`, stratified on the target for classification."""
    splitter = _group_splitter(task, group_folds(test_fraction), seed)
    folds = [test for _, test in splitter.split(groups, target, groups)]
    chosen = min(folds, key=lambda test: abs(len(test) / len(groups) - test_fraction))
    held_out = np.zeros(len(groups), dtype=bool)
    held_out[chosen] = True
    return pd.Series(held_out, index=groups.index)


# ---------------------------------------------------------------- the held-out split


def holdout_split(frame: pd.DataFrame, config: Config) -> Split:
    """The training and held-out parts, identical in every step (`split` in config.yaml):
    at random (seeded; stratified on the target for classification, so both parts hold every
    class in the same proportion), the most recent rows by `time_column`, or whole groups of
    `group_column`. Any problem raises one PipelineError naming the key."""
    features, target = split_features_target(frame, config)
    settings, path, task = config.split, config.data_path, config.data.task
    times = None
    if settings.time_column:
        times = _times(frame, settings.time_column, path)
        held_out = most_recent(times, settings.test_fraction)
        raw = frame[settings.time_column]
        if not (~held_out).any():
            raise PipelineError(
                f"{path}: split.time_column {settings.time_column!r}: the most recent "
                f"{settings.test_fraction:.0%} of the rows start at the earliest time "
                f"({raw[times.idxmin()]}), which leaves no older row to train on; lower "
                "split.test_fraction"
            )
        about = {
            "rule": "time",
            "column": settings.time_column,
            "training": _period(raw, times, ~held_out),
            "evaluation": _period(raw, times, held_out),
        }
    elif settings.group_column:
        groups = _groups(frame, settings.group_column, settings.test_fraction, path)
        held_out = held_out_groups(groups, target, task, settings.test_fraction, settings.seed)
        about = {
            "rule": "group",
            "column": settings.group_column,
            "folds": group_folds(settings.test_fraction),
            "training": {"rows": int((~held_out).sum()), "groups": groups[~held_out].nunique()},
            "evaluation": {"rows": int(held_out.sum()), "groups": groups[held_out].nunique()},
        }
    else:
        return _random_split(frame, features, target, config)
    if task == "classification":
        _check_classes(target, held_out, config)
    parts = (features[~held_out], features[held_out], target[~held_out], target[held_out])
    return Split(frame, *parts, about, times)


def _random_split(
    frame: pd.DataFrame, features: pd.DataFrame, target: pd.Series, config: Config
) -> Split:
    from sklearn.model_selection import train_test_split

    stratified = config.data.task == "classification"
    try:
        parts = train_test_split(
            features,
            target,
            test_size=config.split.test_fraction,
            random_state=config.split.seed,
            stratify=target if stratified else None,
        )
    except ValueError as error:
        raise PipelineError(f"{config.data_path}: cannot split the data: {error}") from None
    about = {
        "rule": "random",
        "stratified": stratified,
        "training": {"rows": len(parts[0])},
        "evaluation": {"rows": len(parts[1])},
    }
    return Split(frame, *parts, about)


def _check_classes(target: pd.Series, held_out: pd.Series, config: Config) -> None:
    """Both parts of a time-ordered or grouped split hold every class (nothing stratifies a
    period, and a class may live in few groups)."""
    settings = config.split
    key = "time_column" if settings.time_column else "group_column"
    column = settings.time_column or settings.group_column
    for side, rows in (("training", ~held_out), ("held-out", held_out)):
        absent = sorted(set(target.astype(str)) - set(target[rows].astype(str)))
        if absent:
            raise PipelineError(
                f"{config.data_path}: split.{key} {column!r}: the {side} rows hold no row of "
                f"class {absent[0]!r}; every class must be on both sides to train and score "
                "(change split.test_fraction or split.seed, or check the data)"
            )


# ---------------------------------------------------------------- inner folds


def cross_validation_folds(
    target: pd.Series,
    task: Task,
    folds: int,
    seed: int,
    times: pd.Series | None = None,
    groups: pd.Series | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training positions, validation positions) of each fold of `target`'s rows, by the
    rule of the held-out split: time-ordered (scikit-learn's TimeSeriesSplit over the
    distinct times of `times`, so rows that share a time stay on one side and each fold
    validates on a later period than it trains on; for classification, a fold whose
    training rows lack a class is dropped), grouped (StratifiedGroupKFold, or GroupKFold for
    regression, over `groups`), else shuffled (StratifiedKFold, or KFold). An explicit list,
    which any scikit-learn `cv=` takes (a search, TunedThresholdClassifierCV,
    cross_validate) without metadata routing. Too few times or groups raise PipelineError."""
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    positions = np.arange(len(target))
    if times is not None:
        distinct = np.unique(times.to_numpy())
        if len(distinct) <= folds:
            raise PipelineError(
                f"split.time_column: {len(distinct)} distinct time(s) in the training rows; "
                f"{folds} time-ordered folds need at least {folds + 1}"
            )
        when = np.searchsorted(distinct, times.to_numpy())
        found = [
            (positions[np.isin(when, train)], positions[np.isin(when, test)])
            for train, test in TimeSeriesSplit(folds).split(distinct)
        ]
        if task == "classification":
            classes = target.nunique()
            found = [(tr, te) for tr, te in found if target.iloc[tr].nunique() == classes]
            if not found:
                raise PipelineError(
                    "split.time_column: every time-ordered fold trains on rows of a single "
                    "class; the earliest period lacks the others"
                )
        return found
    if groups is not None:
        if groups.nunique() < folds:
            raise PipelineError(
                f"split.group_column: {groups.nunique()} group(s) in the training rows, "
                f"fewer than the {folds} grouped folds; expected at least {folds}"
            )
        return list(_group_splitter(task, folds, seed).split(positions, target, groups))
    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if task == "classification"
        else KFold(folds, shuffle=True, random_state=seed)
    )
    return list(splitter.split(positions, target))


def training_folds(
    config: Config, split: Split, folds: int = INNER_FOLDS
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of a cross-validation inside the training rows (decision-threshold tuning,
    a search), by the rule that made `split`: positions in `split.x_train`."""
    settings = config.split
    times = groups = None
    if split.times is not None:
        times = split.times.loc[split.x_train.index]
    elif settings.group_column:
        groups = split.frame.loc[split.x_train.index, settings.group_column]
    return cross_validation_folds(
        split.y_train, config.data.task, folds, settings.seed, times, groups
    )


# ---------------------------------------------------------------- in words


def split_words(about: dict[str, Any] | None, markdown: bool = False) -> str | None:
    """Which rows were held out and which trained on, as a sentence, for a time-ordered or
    grouped split (a random one needs no words). The file's values are escaped for markdown."""
    if not about or about["rule"] == "random":
        return None

    def shown(value: Any, code: bool = False) -> str:
        return cell(str(value), code) if markdown else str(value)

    training, held_out = about["training"], about["evaluation"]
    column = shown(about["column"], code=True)
    if about["rule"] == "time":
        return (
            f"Held out: the {held_out['rows']:,} most recent rows by {column}, "
            f"{shown(held_out['first'])} to {shown(held_out['last'])}; trained on the "
            f"{training['rows']:,} older ones, {shown(training['first'])} to "
            f"{shown(training['last'])}."
        )
    share = held_out["rows"] / (held_out["rows"] + training["rows"])
    return (
        f"Held out: {held_out['groups']:,} whole group(s) of {column} ({held_out['rows']:,} "
        f"rows, {share:.1%}: one of {about['folds']} folds); trained on the other "
        f"{training['groups']:,} group(s) ({training['rows']:,} rows)."
    )
