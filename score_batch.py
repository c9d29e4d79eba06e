"""Score a CSV file with the champion model: predictions (and class probabilities) beside the input.

The input is checked against the model's signature first; a missing column or a wrong type
stops with one message per column. The model is loaded with the reviewed skops trust list.
Exit codes: 0 scored, 2 unusable input, config, model or tracking server.
"""

import tempfile
from pathlib import Path

from mlops.cli import parse_args, script_parser
from mlops.config import load_config
from mlops.data import load_dataset
from mlops.errors import run_script
from mlops.registry import download_model, load_sklearn_model
from mlops.scoring import model_inputs
from mlops.tracking import configure_tracking, tracking_errors


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("input", type=Path, help="CSV file with the model's feature columns")
    parser.add_argument("--output", type=Path, help="default: <input>.predictions.csv")
    parser.add_argument("--model-uri", help="default: models:/<registered_model>@<champion_alias>")
    args = parse_args(parser)

    config = load_config(args.config)
    model_uri = args.model_uri or (
        f"models:/{config.mlflow.registered_model}@{config.mlflow.champion_alias}"
    )
    frame = load_dataset(args.input, config.data.max_file_mb)
    uri = configure_tracking(config)
    with tracking_errors(uri), tempfile.TemporaryDirectory() as scratch:
        model_dir = download_model(model_uri, Path(scratch))
        model = load_sklearn_model(model_dir)
        features = model_inputs(frame, model_dir, f"{args.input} for {model_uri}")
    scored = frame.copy()
    scored["prediction"] = model.predict(features)
    if config.data.task == "classification":
        probabilities = model.predict_proba(features)
        for index, label in enumerate(model.classes_):
            scored[f"probability_{label}"] = probabilities[:, index]
    output = args.output or args.input.with_name(f"{args.input.stem}.predictions.csv")
    scored.to_csv(output, index=False)
    print(f"scored {len(scored)} rows of {args.input.name} with {model_uri}: {output}")
    return 0


if __name__ == "__main__":
    run_script(main)
