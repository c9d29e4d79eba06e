"""Write data/recent.csv: a batch of "new" loan applications with known shifts, so that
`make monitor` has a real finding to show out of the box.

1,000 rows drawn from data/credit.csv (seeded; the same bytes every time), without the
`status` column (new applications have no outcome yet), with three documented changes:
- `amount` is 40% higher: larger loans than in training (a new product);
- 20% of rows have `job = gig`, a category the model never saw;
- `assets` is missing in 25% more rows (a broken field in the export).
Every other column keeps the training data's distribution.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 2026
ROWS = 1000


def main() -> None:
    source = pd.read_csv(HERE / "credit.csv")
    rng = np.random.default_rng(SEED)
    batch = source.iloc[rng.integers(0, len(source), ROWS)].reset_index(drop=True)
    batch = batch.drop(columns="status")
    batch["amount"] = (batch["amount"] * 1.4).round().astype("int64")
    batch.loc[rng.random(ROWS) < 0.2, "job"] = "gig"
    batch["assets"] = batch["assets"].mask(rng.random(ROWS) < 0.25)
    batch.to_csv(HERE / "recent.csv", index=False, lineterminator="\n", float_format="%.0f")
    print(f"wrote recent.csv: {len(batch)} rows, {batch.shape[1]} columns")


if __name__ == "__main__":
    main()
