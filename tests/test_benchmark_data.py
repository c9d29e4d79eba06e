"""The benchmark's generated data: deterministic and valid under the project's expectation suite."""

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from benchmarks.datagen import suite_ranges, synthesize
from benchmarks.pandas_rules import evaluate_suite
from tests.conftest import CLASSIFICATION, FIXTURES

PROJECT = FIXTURES / CLASSIFICATION
SUITE = next((PROJECT / "gx" / "expectations").glob("*.json"))
ROWS = 20_000


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    return pd.read_csv(next((PROJECT / "data").glob("*.csv")))


@pytest.fixture(scope="module")
def generated(source: pd.DataFrame) -> pd.DataFrame:
    return synthesize(source, ROWS, suite_ranges(SUITE), seed=7)


def test_same_seed_same_frame(source, generated):
    assert_frame_equal(synthesize(source, ROWS, suite_ranges(SUITE), seed=7), generated)
    assert not synthesize(source, ROWS, suite_ranges(SUITE), seed=8).equals(generated)


def test_values_stay_inside_the_suite_ranges(generated):
    ranges = suite_ranges(SUITE)
    assert ranges  # the suite has range rules to respect
    for column, (low, high) in ranges.items():
        values = generated[column].dropna()
        assert values.min() >= low and values.max() <= high, column


def test_types_and_categories_are_kept(source, generated):
    assert len(generated) == ROWS
    assert (generated.dtypes == source.dtypes).all()
    for column in source.select_dtypes(exclude="number").columns:
        assert set(generated[column].dropna()) <= set(source[column].dropna()), column


def test_at_most_one_percent_of_rows_are_duplicated(generated):
    # The suite's compound-uniqueness rule counts every row of a duplicated group.
    assert generated.duplicated(keep=False).mean() <= 0.01


def test_the_whole_suite_passes(generated):
    verdicts = evaluate_suite(generated, SUITE)
    assert all(verdicts.values()), [rule for rule, passed in verdicts.items() if not passed]
