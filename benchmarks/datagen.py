"""Larger copies of the bundled data, generated deterministically at benchmark time.

Rows are resampled with a fixed seed and numeric columns get a little noise, so the copies
pass the project's expectation suite: values stay inside the suite's ranges, integer columns
stay integer, categories are untouched, and almost no row repeats (the suite allows at most 1%
of rows in duplicated groups).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

# Benchmark size name -> rows; None means the bundled file as it is.
SIZES: dict[str, int | None] = {"bundled": None, "100k": 100_000, "1m": 1_000_000}
SEED = 20240601
# Integer columns: additive noise with this share of the column's standard deviation.
INTEGER_NOISE = 0.05
# Float columns (money amounts): multiplicative noise, so a zero debt or asset stays zero.
FLOAT_NOISE = 0.05


def suite_ranges(suite_path: Path) -> dict[str, tuple[float | None, float | None]]:
    """Column -> (min, max) from the suite's expect_column_values_to_be_between rules."""
    suite = json.loads(suite_path.read_text(encoding="utf-8"))
    return {
        rule["kwargs"]["column"]: (rule["kwargs"].get("min_value"), rule["kwargs"].get("max_value"))
        for rule in suite["expectations"]
        if rule["type"] == "expect_column_values_to_be_between"
    }


def synthesize(
    source: pd.DataFrame,
    rows: int,
    ranges: dict[str, tuple[float | None, float | None]],
    seed: int = SEED,
) -> pd.DataFrame:
    """`rows` rows resampled from `source`, noise on numeric columns; same seed, same frame."""
    rng = np.random.default_rng(seed)
    frame = source.iloc[rng.integers(0, len(source), size=rows)].reset_index(drop=True)
    for column in source.columns:
        if not pd.api.types.is_numeric_dtype(source[column]):
            continue
        values = frame[column].to_numpy(dtype="float64")
        low, high = ranges.get(column, (None, None))
        if pd.api.types.is_integer_dtype(source[column]):
            spread = INTEGER_NOISE * float(source[column].std())
            noisy = np.clip(np.rint(values + rng.normal(0.0, spread, size=rows)), low, high)
            frame[column] = noisy.astype(source[column].dtype)
        else:
            # NaN stays NaN: missing values are part of what the pipeline must handle.
            noisy = np.round(values * (1.0 + rng.normal(0.0, FLOAT_NOISE, size=rows)), 2)
            frame[column] = np.clip(noisy, low, high)
    return frame
