"""Read the dataset once, split it the same way in every step, and fingerprint it."""

import csv
import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlops.config import Config
from mlops.errors import PipelineError


def file_sha256(path: Path) -> str:
    """The file's sha256; computed once per process while the file is unchanged."""
    status = path.stat()
    return _sha256(path.resolve(), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path: Path, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Split:
    """The seeded split every step uses; rows keep their index in the data file, whose
    every column `frame` holds (a champion may take columns the config no longer lists)."""

    frame: pd.DataFrame
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


DELIMITERS = (";", "\t", "|")


def load_dataset(path: Path, max_file_mb: float = math.inf) -> pd.DataFrame:
    """The CSV as a DataFrame, or a `PipelineError` naming the file and what is wrong with it.

    Only what Great Expectations cannot see is checked here (can the bytes be read as a CSV
    table at all); the data rules live in the expectation suite.
    """
    if not path.is_file():
        raise PipelineError(f"{path}: data file not found")
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_file_mb:
        raise PipelineError(
            f"{path}: {size_mb:,.0f} MB, larger than data.max_file_mb ({max_file_mb:g} MB); "
            "raise the limit in the config if the file is right"
        )
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"\xef\xbb\xbf"):
        raise PipelineError(f"{path}: starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        frame = pd.read_csv(path, encoding="utf-8", on_bad_lines="error")
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: the file is empty; expected a header line and rows") from None
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); re-save the file as UTF-8"
        ) from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise PipelineError(f"{path}: not a well-formed CSV table: {error}") from None
    if frame.empty:
        raise PipelineError(f"{path}: has a header but no rows")
    header = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if frame.shape[1] == 1:
        for delimiter in DELIMITERS:
            if delimiter in header:
                raise PipelineError(
                    f"{path}: one column found; the header is separated by {delimiter!r}, "
                    "expected ','"
                )
    return frame


def split_features_target(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series]:
    """The configured feature columns and the target column, as the model sees them.

    Numeric features are floats throughout, so the model's signature accepts a missing value
    in any of them (an integer column cannot hold one).
    """
    missing = [c for c in [*config.features, config.data.target] if c not in frame.columns]
    if missing:
        raise PipelineError(f"{config.data_path}: missing column(s) {missing}")
    features = frame[config.features].copy()
    numeric = config.data.numeric_features
    try:
        features[numeric] = features[numeric].astype("float64")
    except (TypeError, ValueError) as error:
        raise PipelineError(
            f"{config.data_path}: a numeric feature is not numeric: {error}"
        ) from None
    target = frame[config.data.target]
    if config.data.task == "regression" and not pd.api.types.is_numeric_dtype(target):
        example = target[pd.to_numeric(target, errors="coerce").isna() & target.notna()]
        raise PipelineError(
            f"{config.data_path}: the target {config.data.target!r} must be numeric for "
            f"regression (data.task); found e.g. {example.iloc[0] if len(example) else None!r}"
        )
    if target.isna().any():
        raise PipelineError(
            f"{config.data_path}: the target {config.data.target!r} has "
            f"{int(target.isna().sum())} missing value(s); every row needs one"
        )
    return features, target


def holdout_split(frame: pd.DataFrame, config: Config) -> Split:
    """The training and held-out parts: seeded and identical in every step; stratified on the
    target for classification, so both parts hold every class in the same proportion."""
    from sklearn.model_selection import train_test_split

    features, target = split_features_target(frame, config)
    try:
        parts = train_test_split(
            features,
            target,
            test_size=config.split.test_fraction,
            random_state=config.split.seed,
            stratify=target if config.data.task == "classification" else None,
        )
    except ValueError as error:
        raise PipelineError(f"{config.data_path}: cannot split the data: {error}") from None
    return Split(frame, *parts)


def rows_sha256(index: pd.Index) -> str:
    """A fingerprint of which rows (by their number in the data file) a part holds."""
    return hashlib.sha256(index.to_numpy(dtype="int64").tobytes()).hexdigest()


def schema_sample(
    frame: pd.DataFrame, rows: pd.Index | None = None, size: int = 1000
) -> pd.DataFrame:
    """A few of `rows` (default: all) to infer a schema from, with a missing value in every
    column that has one among them, so those columns come out optional (inference on every
    row is slow). Copies only the sample."""
    rows = frame.index if rows is None else rows
    picked = list(rows[:size])
    for column in frame.columns:
        missing = frame[column].isna()
        if missing.any():
            missing_rows = rows[missing.loc[rows].to_numpy()]
            if len(missing_rows):
                picked.append(missing_rows[0])
    return frame.loc[list(dict.fromkeys(picked))]
