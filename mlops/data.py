"""Read the dataset once, take its features and target, sample it, and fingerprint it
(how the rows are split: mlops/splits.py)."""

import csv
import functools
import hashlib
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from itertools import islice, repeat
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.config import Config
from mlops.errors import PipelineError
from mlops.markdown import some
from mlops.metrics import class_names


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


DELIMITERS = (";", "\t", "|")
# Lines named in a message about rows that do not match the header.
LINES_SHOWN = 5


def load_dataset(path: Path, max_file_mb: float = math.inf) -> pd.DataFrame:
    """The CSV as a DataFrame, or a `PipelineError` naming the file and what is wrong with it.

    Only what Great Expectations cannot see is checked here (can the bytes be read as a CSV
    table at all, with one named column per field of every row); the data rules live in the
    expectation suite.
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
        _check_fields_per_row(path)  # a row longer than the first one, said plainly
        raise PipelineError(f"{path}: not a well-formed CSV table: {error}") from None
    header = _header(path)
    if len(header) == 1:
        for delimiter in DELIMITERS:
            if delimiter in header[0]:
                raise PipelineError(
                    f"{path}: one column found; the header is separated by {delimiter!r}, "
                    "expected ','"
                )
    _check_column_names(path, header)
    if frame.empty:
        raise PipelineError(f"{path}: has a header but no rows")
    # pandas reads a row with a field too many by making the first column the index (every
    # column shifted), and one with a field too few by filling the last column with a gap:
    # only then are the fields of each line counted (a gap in the last column is common).
    if not isinstance(frame.index, pd.RangeIndex) or frame.iloc[:, -1].isna().any():
        _check_fields_per_row(path)
    return frame


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank record, as pandas splits them (a quoted
    field may span lines: the number is the record's first line)."""
    # The csv module refuses fields over 128 kB by default; pandas has no such limit.
    csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size))
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        line = 1
        for fields in reader:
            if len(fields) > 1 or (fields and fields[0].strip()):  # pandas skips blank lines
                yield line, fields
            line = reader.line_num + 1


def _header(path: Path) -> list[str]:
    return next(_records(path), (0, []))[1]


def _check_column_names(path: Path, header: list[str]) -> None:
    """pandas renames a repeated name (`x.1`) and names an empty one (`Unnamed: 2`): refused
    here, from the header as written, so that no rule or feature sees a made-up column."""
    empty = [position for position, name in enumerate(header, 1) if not name.strip()]
    if empty:
        cause = {
            1: "a row index saved with the table? pandas' to_csv(index=False) leaves it out",
            len(header): "a comma at the end of the header adds an empty one",
        }.get(empty[0] if len(empty) == 1 else 0, "was a name lost from the header?")
        raise PipelineError(
            f"{path}: the header has no name for column(s) {empty} (counting from 1); every "
            f"column needs one ({cause})"
        )
    repeated = [name for name, count in Counter(header).items() if count > 1]
    if repeated:
        raise PipelineError(
            f"{path}: the header names {repeated} more than once; every column needs a name "
            "of its own"
        )


def _same_commas_on_every_line(path: Path) -> bool:
    """Whether every line holds as many commas as the header, counted on the raw bytes (a
    fraction of the time pandas takes to parse the file). False where that cannot tell, for
    the csv module to count: a quote anywhere (a quoted field may hold commas and line
    breaks), a blank line."""
    commas: set[int] = set()
    rest = b""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            if b'"' in chunk:
                return False
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            commas.update(map(bytes.count, lines, repeat(b",")))
    if rest.strip():
        commas.add(rest.count(b","))
    return len(commas) == 1


def _check_fields_per_row(path: Path) -> None:
    """Refuses a file with any row whose fields do not match the header's in number, naming
    the first such lines: rows pandas would shift or pad silently. A file the csv module
    cannot split either is left to the caller's message."""
    if _same_commas_on_every_line(path):
        return
    shown: list[str] = []
    mismatched, counts = 0, set()
    try:
        records = _records(path)
        _, header = next(records, (0, []))
        for line, fields in records:
            if len(fields) != len(header):
                mismatched += 1
                counts.add(len(fields))
                if len(shown) < LINES_SHOWN:
                    shown.append(f"line {line} has {len(fields)}")
    except (csv.Error, UnicodeDecodeError):
        return
    if not mismatched:
        return
    if counts == {len(header) + 1}:
        hint = (
            "one field too many: a comma at the end of each of those lines, or a column "
            "name missing from the header?"
        )
    else:
        hint = "every row needs one field per column (quote a field that holds a comma)"
    more = mismatched - len(shown)
    raise PipelineError(
        f"{path}: rows do not match the header: the header has {len(header)} fields, "
        + ", ".join(shown)
        + (f" (and {more} more line(s))" if more else "")
        + f"; {hint}"
    )


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
    if config.data.task == "classification":
        check_class_rules(target, config)
    return features, target


# Classes named in a message, the rarest first.
CLASSES_SHOWN = 8


def check_class_rules(target: pd.Series, config: Config) -> None:
    """The class rules a classification target must meet before it is split (docs/gate.md):
    two classes at least and `data.max_classes` at most, exactly two with
    `data.positive_class` (which must be one of them), and two rows at least in every class
    (a random split is stratified; a time or group split needs every class on both sides,
    mlops/splits.py). A `PipelineError` names the key or the class."""
    counts = target.astype(str).value_counts().sort_values(kind="stable")
    name, where = config.data.target, config.data_path
    if len(counts) < 2:
        raise PipelineError(
            f"{where}: the target {name!r} has a single class ({counts.index[0]!r}); "
            "classification needs two or more"
        )
    limit = config.data.max_classes
    if len(counts) > limit:
        raise PipelineError(
            f"{where}: the target {name!r} has {len(counts)} classes, more than "
            f"data.max_classes ({limit}) in {config.file.name}; raise the limit if they are "
            "right (a target with nearly a class per row is more likely an ID or free text)"
        )
    positive = config.data.positive_class
    if positive is not None and len(counts) != 2:
        raise PipelineError(
            f"{config.file.name}: data.positive_class {positive!r} is for a target of two "
            f"classes; {name!r} in {where.name} has {len(counts)} "
            f"({some(class_names(counts.index), CLASSES_SHOWN, repr)}): remove "
            "data.positive_class for multiclass metrics (docs/configuration.md)"
        )
    if positive is not None and positive not in counts.index:
        raise PipelineError(
            f"{config.file.name}: data.positive_class {positive!r} is not a class of "
            f"{name!r} in {where.name}; expected one of {class_names(counts.index)}"
        )
    rare = counts[counts < 2]
    if len(rare):
        raise PipelineError(
            f"{where}: the target {name!r} has a single row of class(es) "
            f"{some(list(rare.index), CLASSES_SHOWN, repr)}; every class needs at least 2 rows "
            "(a random held-out split is stratified; a time or group split needs the class on "
            "both sides): add "
            "rows of it, or drop or merge the class"
        )


def rows_sha256(index: pd.Index) -> str:
    """A fingerprint of which rows (by their number in the data file) a part holds."""
    return hashlib.sha256(index.to_numpy(dtype="int64").tobytes()).hexdigest()


def spread_sample(rows: pd.Index, size: int, seed: int = 0) -> pd.Index:
    """At most `size` of `rows`, drawn at random (seeded) and kept in their order: a sample
    of the whole part whatever order its rows are in (a time-ordered split holds its most
    recent rows last, so the first rows would be its oldest)."""
    if len(rows) <= size:
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), size, replace=False))]


def schema_sample(
    frame: pd.DataFrame, rows: pd.Index | None = None, size: int = 1000
) -> pd.DataFrame:
    """A few of `rows` (default: all; `spread_sample`) to infer a schema from, with a missing
    value in every column that has one among them, so those columns come out optional
    (inference on every row is slow). Copies only the sample."""
    rows = frame.index if rows is None else rows
    picked = list(spread_sample(rows, size))
    for column in frame.columns:
        missing = frame[column].isna()
        if missing.any():
            missing_rows = rows[missing.loc[rows].to_numpy()]
            if len(missing_rows):
                picked.append(missing_rows[0])
    return frame.loc[list(dict.fromkeys(picked))]


def line_numbers(path: Path, rows: set[int]) -> dict[int, int]:
    """The line of the file on which each of `rows` (data rows counted from 0, as pandas
    reads the file) starts. The header is line 1; a quoted value may span lines, and a blank
    line holds no row (pandas skips it). Reads only as far as the last row asked for."""
    found: dict[int, int] = {}
    if not rows:
        return found
    with closing(_records(path)) as records:
        try:
            for row, (line, _) in enumerate(islice(records, 1, None)):  # after the header
                if row in rows:
                    found[row] = line
                    if len(found) == len(rows):
                        break
        except csv.Error:  # a record the csv module cannot read: the lines found so far
            pass
    return found
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            next(reader, None)  # the header
            row, start = 0, reader.line_num + 1
            for record in reader:
                if len(record) > 1 or (record and record[0].strip()):
                    if row in rows:
                        found[row] = start
                        if len(found) == len(rows):
                            break
                    row += 1
                start = reader.line_num + 1
        except csv.Error:  # a field longer than the csv module takes: lines found so far
            pass
    return found
