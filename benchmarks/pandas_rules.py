"""The expectation suite's rules evaluated with plain pandas: the floor for what validation costs.

Each expectation type the suite uses is re-implemented with Great Expectations' semantics, so
both engines reach the same verdict on every rule:

- value rules ignore missing values, and `mostly` is the share of the considered rows that must
  pass (a rule over no rows passes);
- compound uniqueness counts every row of a duplicated group as unexpected and skips rows whose
  listed columns are all missing;
- a type rule compares the column's dtype, or, for `object` columns, each non-null value.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Python types a type name stands for besides numpy's, as GX's `native_type_type_map` has them.
_NATIVE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float,),
    "bool": (bool,),
}


def _mostly(considered: int, unexpected: int, kwargs: dict[str, Any]) -> bool:
    if considered == 0:
        return True
    return (considered - unexpected) / considered >= kwargs.get("mostly", 1.0)


def _columns_match_set(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    expected, actual = set(kwargs["column_set"]), set(frame.columns)
    return actual == expected if kwargs.get("exact_match", True) else expected <= actual


def _row_count_between(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    return (low is None or len(frame) >= low) and (high is None or len(frame) <= high)


def _compound_unique(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    rows = frame[kwargs["column_list"]]
    rows = rows[rows.notna().any(axis=1)]
    return _mostly(len(rows), int(rows.duplicated(keep=False).sum()), kwargs)


def _in_set(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    values = frame[kwargs["column"]].dropna()
    return _mostly(len(values), int((~values.isin(kwargs["value_set"])).sum()), kwargs)


def _distinct_equal_set(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    return set(frame[kwargs["column"]].dropna().unique()) == set(kwargs["value_set"])


def _not_null(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    column = frame[kwargs["column"]]
    return _mostly(len(column), int(column.isna().sum()), kwargs)


def _of_type(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    column, name = frame[kwargs["column"]], kwargs["type_"]
    types: tuple[type, ...] = _NATIVE_TYPES.get(name.lower(), ())
    try:
        types += (np.dtype(name).type,)
    except TypeError:
        pass
    if column.dtype == object:
        values = column.dropna()
        unexpected = int((~values.map(lambda value: isinstance(value, types))).sum())
        return _mostly(len(values), unexpected, kwargs)
    return column.dtype.type in types


def _between(frame: pd.DataFrame, kwargs: dict[str, Any]) -> bool:
    values = frame[kwargs["column"]].dropna()
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    inside = pd.Series(True, index=values.index)
    if low is not None:
        inside &= values > low if kwargs.get("strict_min") else values >= low
    if high is not None:
        inside &= values < high if kwargs.get("strict_max") else values <= high
    return _mostly(len(values), int((~inside).sum()), kwargs)


RULES: dict[str, Callable[[pd.DataFrame, dict[str, Any]], bool]] = {
    "expect_table_columns_to_match_set": _columns_match_set,
    "expect_table_row_count_to_be_between": _row_count_between,
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_distinct_values_to_equal_set": _distinct_equal_set,
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_of_type": _of_type,
    "expect_column_values_to_be_between": _between,
}


def rule_key(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """A name for one rule that both engines can compute, e.g. `..._to_be_between:age`."""
    subject = kwargs.get("column") or ("(rows)" if "column_list" in kwargs else "(table)")
    return f"{expectation_type}:{subject}"


def evaluate_suite(frame: pd.DataFrame, suite_path: Path) -> dict[str, bool]:
    """Rule key -> passed, for every expectation in the suite file."""
    suite = json.loads(suite_path.read_text(encoding="utf-8"))
    unsupported = sorted({e["type"] for e in suite["expectations"]} - set(RULES))
    if unsupported:
        raise ValueError(
            f"{suite_path}: no pandas version of {unsupported}; add them to RULES in {__file__}"
        )
    verdicts = {
        rule_key(e["type"], e["kwargs"]): bool(RULES[e["type"]](frame, e["kwargs"]))
        for e in suite["expectations"]
    }
    if len(verdicts) != len(suite["expectations"]):
        raise ValueError(
            f"{suite_path}: two rules share a type and a column; rule_key cannot tell them apart"
        )
    return verdicts
