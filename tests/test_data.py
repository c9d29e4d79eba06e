"""Loader and sampling helpers in mlops/data.py."""

import numpy as np
import pandas as pd
import pytest

from mlops.data import load_dataset, schema_sample, spread_sample
from mlops.errors import PipelineError


def test_schema_sample_is_small_but_keeps_a_missing_value_per_column():
    frame = pd.DataFrame({"a": np.arange(5000.0), "b": ["x"] * 5000})
    frame.loc[4000, "a"] = np.nan
    frame.loc[4500, "b"] = None
    sample = schema_sample(frame, size=10)
    assert 10 <= len(sample) <= 12 and sample.index.is_unique
    assert sample["a"].isna().any() and sample["b"].isna().any()


def test_a_spread_sample_covers_the_whole_part_in_its_order():
    """Not the first rows: a time-ordered part holds its oldest rows first."""
    rows = pd.Index(np.arange(10_000) * 3)
    sample = spread_sample(rows, 100)
    assert len(sample) == 100 and sample.is_monotonic_increasing and sample.isin(rows).all()
    assert sample.min() < 3_000 and sample.max() > 27_000  # from both ends of the part
    assert sample.equals(spread_sample(rows, 100))  # seeded
    assert spread_sample(rows[:50], 100).equals(rows[:50])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # pandas would make the first column the index and shift every column by one.
        ("a,b,c\n1,2,3,\n4,5,6,\n", "the header has 3 fields, line 2 has 4, line 3 has 4; one"),
        ("a,b,c\n1,2,3,\n4,5,6\n", "the header has 3 fields, line 2 has 4"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", "the header has 3 fields, line 3 has 4"),
        # pandas would fill the missing field with a gap.
        ("a,b,c\n1,2\n4,5,6\n", "the header has 3 fields, line 2 has 2; every row needs"),
        ('a,b,c\n1,"x,\ny"\n4,5,6\n', "the header has 3 fields, line 2 has 2"),
        ("a,b\r\n" + "1,2,\r\n" * 8, "line 6 has 3 (and 3 more line(s))"),
        ("a,b\n1,2\n\n3,4,5\n", "the header has 2 fields, line 4 has 3"),
        ("a,a,b\n1,2,3\n", "the header names ['a'] more than once"),
        ("a,,b\n1,2,3\n", "the header has no name for column(s) [2]"),
        ("a,b,\n1,2,3\n", "the header has no name for column(s) [3]"),
        (",a,b\n0,2,3\n1,5,6\n", "column(s) [1] (counting from 1); every column needs one (a row"),
        ("", "the file is empty"),
        ("a,b\n", "has a header but no rows"),
        ('a,b\n1,"x\n2,3\n', "not a well-formed CSV table"),
    ],
    ids=[
        "every-row-one-longer",
        "first-row-longer",
        "later-row-longer",
        "row-shorter",
        "quoted-row-shorter",
        "crlf-many",
        "after-a-blank-line",
        "repeated-name",
        "empty-name",
        "header-trailing-comma",
        "saved-index",
        "empty-file",
        "header-only",
        "unclosed-quote",
    ],
)
def test_a_table_pandas_would_misread_is_refused_with_the_lines(tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode())
    with pytest.raises(PipelineError) as refused:
        load_dataset(path)
    assert str(refused.value).startswith(f"{path}: ") and message in str(refused.value)


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a,b,c\n1,2,\n4,,6\n,5,\n", 3),  # gaps, the last column's included
        ('a,b,c\n1,"x, y",3\n4,"two\nlines",6\n', 2),  # a comma and a line break in quotes
        ("a,b\r\n1,2\r\n\r\n3,4\r\n   \n", 2),  # CRLF, a blank and a whitespace-only line
        ("a,b\n" + "x" * 200_000 + ",1\n2,3", 2),  # a field over the csv module's default limit
        ("only\n1\n\n2\n", 2),  # a single column
    ],
    ids=["gaps", "quoted", "crlf-blank-lines", "long-field", "one-column"],
)
def test_well_formed_tables_load_unshifted(tmp_path, text, rows):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode())
    frame = load_dataset(path)
    assert list(frame.columns) == text.splitlines()[0].split(",")
    assert frame.index.equals(pd.RangeIndex(rows))
