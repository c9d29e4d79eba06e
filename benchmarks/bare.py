"""The floor of the pipeline benchmark: read the CSV, fit the same model on the same split, score.

No validation, tracking, model files, champion or registry: only what any training script must
do. The estimator, preprocessing, split and metrics come from the project's own code and
config, so this is the same model the pipeline trains. Prints the metrics as one JSON line, so
the benchmark can check that both trained the same model.
"""

import argparse
import json
import sys
from pathlib import Path

# The benchmark runs this file by path; mlops/ lives in the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from mlops.config import load_config  # noqa: E402
from mlops.scoring import score  # noqa: E402
from mlops.splits import holdout_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="config file of the project to train")
    args = parser.parse_args()

    config = load_config(args.config)
    split = holdout_split(pd.read_csv(config.data_path), config)
    model = config.model_pipeline()
    model.fit(split.x_train, split.y_train)
    scores = score(
        model,
        split.x_test,
        split.y_test,
        config.data.task,
        config.data.positive_class,
        config.metrics,
    )
    print(json.dumps(scores.metrics))


if __name__ == "__main__":
    main()
