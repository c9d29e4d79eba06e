"""Predict with the champion in this fresh process: the floor that serving is compared with.

Loads the model the way the pipeline does (mlops.registry: download, then skops with the
trust list recorded with it) from $MLFLOW_TRACKING_URI, then times single-row and batch
`predict` on the same rows the benchmark sends to the server. Prints one JSON line.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# The benchmark runs this file by path; mlops/ lives in the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from mlops.config import Config, load_config  # noqa: E402
from mlops.data import load_dataset, split_features_target  # noqa: E402

WARMUP_CALLS = 10


def request_rows(config: Config) -> pd.DataFrame:
    """The data's feature rows without missing values, as the model sees them (numbers as floats).

    Complete rows satisfy the model signature whichever columns it marks optional, so every
    request is one the server must accept.
    """
    features, _ = split_features_target(load_dataset(config.data_path), config)
    return features.dropna().reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument(
        "--requests", type=int, required=True, help="single-row predictions to time"
    )
    parser.add_argument("--batch-rows", type=int, required=True)
    parser.add_argument("--batches", type=int, required=True, help="batch predictions to time")
    args = parser.parse_args()

    # Imported here: the serving section imports request_rows and has no use for the registry.
    from mlops.registry import download_model, load_sklearn_model

    rows = request_rows(load_config(args.config))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        model = load_sklearn_model(download_model(args.model_uri, Path(scratch)))
    load_seconds = time.perf_counter() - started

    singles = [rows.iloc[[i % len(rows)]] for i in range(args.requests)]
    for row in singles[:WARMUP_CALLS]:
        model.predict(row)
    latencies = []
    for row in singles:
        started = time.perf_counter()
        model.predict(row)
        latencies.append(time.perf_counter() - started)

    batch = rows.iloc[: args.batch_rows]
    predictions = model.predict(batch)  # also the warm-up for the timed batches
    started = time.perf_counter()
    for _ in range(args.batches):
        model.predict(batch)
    batch_seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "load_seconds": load_seconds,
                "single_seconds": latencies,
                "batch_rows_per_second": len(batch) * args.batches / batch_seconds,
                "batch_predictions": [str(p) for p in predictions],
            }
        )
    )


if __name__ == "__main__":
    main()
