"""Score the trained model on the held-out rows, compare it with the champion, apply the gate.

Writes outputs/evaluation.json, outputs/evaluation.md and outputs/holdout_predictions.csv.
A failed gate is a normal outcome: the exit code is 0 either way, the decision is in the files
(and in $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY on GitHub Actions).
Exit codes: 0 evaluated, 2 the inputs, config or tracking server were unusable.
"""

import math
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display in CI

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.metrics import ConfusionMatrixDisplay, PredictionErrorDisplay, RocCurveDisplay

from mlops.cli import parse_args, script_parser
from mlops.config import Config, DataSection, load_config
from mlops.data import file_sha256, holdout_split, load_dataset
from mlops.errors import PipelineError, run_script
from mlops.gate import decide
from mlops.handoff import (
    EVALUATION_FILE,
    EVALUATION_REPORT,
    HOLDOUT_PREDICTIONS,
    TRAINING_FILE,
    github_output,
    github_summary,
    outputs_dir,
    read_json,
    write_json,
)
from mlops.registry import champion_version, directory_sha256, download_model, load_sklearn_model
from mlops.report import evaluation_markdown
from mlops.scoring import Scores, model_inputs, score
from mlops.tracking import configure_tracking, tracking_errors


def _nan_to_none(value: float | None) -> float | None:
    # JSON has no NaN; an uncomputable metric is recorded as null.
    return None if value is None or math.isnan(value) else value


def _finite_or_none(metrics: dict[str, float]) -> dict[str, float | None]:
    return {name: _nan_to_none(value) for name, value in metrics.items()}


def _log_plots(scores: Scores, y_true: Any, data: DataSection, directory: Path) -> None:
    """The evaluation plots, saved beside evaluation.json and logged to the run."""
    predicted = scores.predictions["prediction"]
    if data.task == "regression":
        plots = {
            "predicted_vs_actual.png": lambda ax: PredictionErrorDisplay.from_predictions(
                y_true, predicted, kind="actual_vs_predicted", ax=ax
            ),
            "residuals.png": lambda ax: PredictionErrorDisplay.from_predictions(
                y_true, predicted, kind="residual_vs_predicted", ax=ax
            ),
        }
    else:
        is_positive = y_true.astype("string") == data.positive_class
        plots = {
            "confusion_matrix.png": lambda ax: ConfusionMatrixDisplay.from_predictions(
                y_true.astype(str), predicted.astype(str), ax=ax
            ),
            "roc_curve.png": lambda ax: RocCurveDisplay.from_predictions(
                is_positive, scores.predictions["probability"], ax=ax, name="candidate"
            ),
        }
    for name, draw in plots.items():
        figure, axes = plt.subplots(figsize=(5, 4))
        draw(axes)
        figure.tight_layout()
        figure.savefig(directory / name, dpi=100)
        mlflow.log_figure(figure, f"evaluation/{name}")
        plt.close(figure)


def _score_champion(
    config: Config, client: MlflowClient, holdout_rows: pd.DataFrame, y_test: pd.Series
) -> tuple[dict[str, Any] | None, list[str]]:
    """The champion's metrics on the same rows, or (None, reasons) when it cannot be scored.

    The champion takes the columns it was trained on, which may differ from the candidate's.
    """
    version = champion_version(client, config.mlflow.registered_model, config.mlflow.champion_alias)
    if version is None:
        return None, []
    uri = f"models:/{config.mlflow.registered_model}/{version.version}"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            model_dir = download_model(uri, Path(scratch))
            model = load_sklearn_model(model_dir)
            x_test = model_inputs(holdout_rows, model_dir, str(config.data_path))
        scores = score(
            model, x_test, y_test, config.data.task, config.data.positive_class, config.metrics
        )
    except (PipelineError, ValueError, KeyError) as error:
        # Fail closed: a candidate cannot be shown to be no worse than a champion we cannot score.
        reason = (
            f"the champion (version {version.version}) could not be scored on the held-out "
            f"rows: {error}"
        )
        return {"version": str(version.version), "run_id": version.run_id, "metrics": None}, [
            reason
        ]
    return {
        "version": str(version.version),
        "run_id": version.run_id,
        "metrics": _finite_or_none(scores.metrics),
    }, []


def main() -> int:
    parser = script_parser(__doc__)
    args = parse_args(parser)

    config = load_config(args.config)
    outputs = outputs_dir(config)
    training = read_json(outputs / TRAINING_FILE, "train_model.py")
    if file_sha256(config.data_path) != training["data_sha256"]:
        raise PipelineError(
            f"{config.data_path}: changed since the model was trained; run train_model.py again"
        )
    frame = load_dataset(config.data_path, config.data.max_file_mb)
    _, x_test, _, y_test = holdout_split(frame, config)

    uri = configure_tracking(config)
    client = MlflowClient()
    with tracking_errors(uri):
        with tempfile.TemporaryDirectory() as scratch:
            model_dir = download_model(training["model_uri"], Path(scratch))
            model_sha256 = directory_sha256(model_dir)
            model = load_sklearn_model(model_dir)
        candidate = score(
            model, x_test, y_test, config.data.task, config.data.positive_class, config.metrics
        )
        champion, champion_problems = _score_champion(
            config, client, frame.loc[x_test.index], y_test
        )

    decision = decide(
        candidate.metrics,
        config.gate.thresholds,
        config.gate.champion_tolerance,
        champion["metrics"] if champion else None,
    )
    passed = decision.passed and not champion_problems
    reasons = champion_problems + decision.reasons if champion_problems else decision.reasons
    predictions_path = outputs / HOLDOUT_PREDICTIONS
    candidate.predictions.to_csv(predictions_path)
    decision_dict = decision.to_dict()
    evaluation = {
        "run_id": training["run_id"],
        "model_uri": training["model_uri"],
        "model_sha256": model_sha256,
        "data_sha256": training["data_sha256"],
        "registered_model": config.mlflow.registered_model,
        "holdout_rows": len(x_test),
        "task": config.data.task,
        "positive_class": config.data.positive_class,
        "metrics": _finite_or_none(candidate.metrics),
        "thresholds": config.gate.thresholds,
        "champion_tolerance": config.gate.champion_tolerance,
        "champion": champion,
        "decision": "passed" if passed else "rejected",
        "deploy": passed,
        "reasons": reasons,
        "checks": [
            {**check, **_finite_or_none({k: check[k] for k in ("value", "champion", "delta")})}
            for check in decision_dict["checks"]
        ],
        "predictions_file": HOLDOUT_PREDICTIONS,
        "predictions_sha256": file_sha256(predictions_path),
    }
    report = evaluation_markdown(evaluation)

    with tracking_errors(uri), mlflow.start_run(run_id=training["run_id"]):
        mlflow.log_metrics({f"test_{k}": v for k, v in candidate.metrics.items()})
        if champion and champion["metrics"]:
            mlflow.log_metrics(
                {f"champion_{k}": v for k, v in champion["metrics"].items() if v is not None}
            )
        mlflow.set_tags(
            {
                "gate.decision": evaluation["decision"],
                "gate.reasons": "; ".join(reasons)[:5000],
                "model.sha256": model_sha256,
                "champion.version": champion["version"] if champion else "none",
            }
        )
        _log_plots(candidate, y_test, config.data, outputs)
        write_json(outputs / EVALUATION_FILE, evaluation)
        (outputs / EVALUATION_REPORT).write_text(report + "\n", encoding="utf-8")
        mlflow.log_artifact(str(outputs / EVALUATION_FILE), "evaluation")
        mlflow.log_artifact(str(outputs / EVALUATION_REPORT), "evaluation")

    github_summary(report)
    github_output(
        {
            "decision": evaluation["decision"],
            "deploy": str(passed).lower(),
            "run_id": training["run_id"],
            **{k: f"{v:.4f}" for k, v in candidate.metrics.items() if not math.isnan(v)},
        }
    )
    print(report)
    return 0


if __name__ == "__main__":
    run_script(main)
