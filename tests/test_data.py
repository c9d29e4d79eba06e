"""Loader and sampling helpers in mlops/data.py."""

import numpy as np
import pandas as pd

from mlops.data import schema_sample


def test_schema_sample_is_small_but_keeps_a_missing_value_per_column():
    frame = pd.DataFrame({"a": np.arange(5000.0), "b": ["x"] * 5000})
    frame.loc[4000, "a"] = np.nan
    frame.loc[4500, "b"] = None
    sample = schema_sample(frame, size=10)
    assert len(sample) == 12
    assert sample["a"].isna().sum() == 1 and sample["b"].isna().sum() == 1
    assert list(sample.index[:10]) == list(range(10))
