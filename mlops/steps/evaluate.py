"""Score the trained model on the held-out rows, compare it with the champion, apply the gate.

Writes outputs/evaluation.json, outputs/evaluation.md and outputs/holdout_predictions.csv.
A failed gate is a normal outcome, not an error: the decision is in the files (and in
$GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY on GitHub Actions).
"""

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlops.bootstrap import Estimate, Predictions, Resampling, paired_bootstrap
from mlops.charts import (
    Chart,
    chart_to_dict,
    history_chart,
    importance_chart,
    precision_recall_chart,
    predicted_vs_actual_chart,
    residuals_chart,
    roc_chart,
    save_png,
)
from mlops.classes import class_report
from mlops.config import Config, gate_at_revision
from mlops.data import file_sha256, load_dataset, rows_sha256
from mlops.decision_threshold import decision_threshold
from mlops.errors import PipelineError
from mlops.gate import decide, loosened
from mlops.handoff import (
    EVALUATION_FILE,
    EVALUATION_REPORT,
    HOLDOUT_PREDICTIONS,
    TRAINING_FILE,
    github_output,
    github_run_url,
    github_summary,
    on_pull_request,
    outputs_dir,
    read_json,
    write_json,
)
from mlops.metrics import class_names
from mlops.registry import (
    champion_version,
    directory_sha256,
    download_deployed,
    download_model,
    load_sklearn_model,
    metric_history,
)
from mlops.report import evaluation_markdown, evaluation_text
from mlops.scoring import (
    Classes,
    Scores,
    model_inputs,
    permutation_importance_of,
    score,
    true_values,
)
from mlops.splits import Split, holdout_split
from mlops.steps.train import Trained
from mlops.tracking import (
    configure_tracking,
    embedded_tracking_uri,
    redact,
    server_ui_url,
    tracking_errors,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluated:
    evaluation: dict[str, Any]  # what evaluation.json holds
    report: str  # evaluation.md

    @property
    def passed(self) -> bool:
        return self.evaluation["deploy"]


def _metrics_to_log(estimates: dict[str, Estimate]) -> dict[str, float]:
    """test_<m> with its interval (_low, _high), champion_<m>, and delta_<m> with its interval."""
    logged = {}
    for name, e in estimates.items():
        for key, value in (
            (f"test_{name}", e.value),
            (f"champion_{name}", e.champion),
            (f"delta_{name}", e.delta),
        ):
            if value is not None:
                logged[key] = value
        for key, interval in ((f"test_{name}", e.interval), (f"delta_{name}", e.delta_interval)):
            if interval is not None:
                logged.update({f"{key}_low": interval.low, f"{key}_high": interval.high})
    return logged


def evaluation_charts(
    config: Config,
    truth: Any,
    models: dict[str, Predictions],
    history: list[tuple[str, float]],
    importances: dict[str, float],
    positive: int | None = None,
) -> list[Chart]:
    """Candidate against champion (mlops/charts.py): the ROC and precision-recall curves of
    the positive class (binary), predicted against actual (regression); the main metric's
    recent history, and the columns the candidate relies on. Multiclass has no curves: the
    report's per-class table and confusion matrix take their place (mlops/report.py)."""
    charts = []
    if config.shape == "regression":
        predictions = {name: model.labels for name, model in models.items()}
        charts = [
            predicted_vs_actual_chart(truth, predictions),
            residuals_chart(truth, predictions),
        ]
    elif config.shape == "binary":
        scores = {name: model.scores[:, positive] for name, model in models.items()}
        charts = [
            roc_chart(truth == positive, scores),
            precision_recall_chart(truth == positive, scores),
        ]
    if len(history) > 1:
        charts.append(history_chart(main_metric(config), history))
    if importances and all(math.isfinite(v) for v in importances.values()):
        charts.append(importance_chart(main_metric(config), importances))
    return charts


def main_metric(config: Config) -> str:
    """The metric the history and the importances follow: the first one with a threshold."""
    return next(iter(config.gate.thresholds), config.metrics[0])


def save_figures(
    config: Config, charts: list[Chart], y_test: Any, predicted: Any, directory: Path
) -> list[Path]:
    """Each chart as <name>.png in `directory`, and for classification the confusion matrix
    of the true and `predicted` labels."""
    paths = [save_png(chart, directory) for chart in charts]
    if config.data.task == "classification":
        import matplotlib.pyplot as plt  # save_png has chosen the Agg backend
        from sklearn.metrics import ConfusionMatrixDisplay

        # Counted with pandas: scikit-learn's confusion_matrix on string labels takes
        # about half a second at 200,000 rows.
        truth, predicted = y_test.astype(str), predicted.astype(str)
        labels = class_names(set(truth) | set(predicted))
        counts = pd.crosstab(truth, predicted).reindex(index=labels, columns=labels, fill_value=0)
        side = max(5.0, 0.3 * len(labels))  # many classes: a larger figure, counts left out
        figure, axes = plt.subplots(figsize=(side, side * 0.8))
        ConfusionMatrixDisplay(counts.to_numpy(), display_labels=labels).plot(
            ax=axes,
            include_values=len(labels) <= 20,
            xticks_rotation="vertical" if len(labels) > 6 else "horizontal",
        )
        figure.tight_layout()
        paths.append(directory / "confusion_matrix.png")
        figure.savefig(paths[-1], dpi=100)
        plt.close(figure)
    return paths


def _score_champion(
    config: Config, client: MlflowClient, holdout_rows: pd.DataFrame, y_test: pd.Series
) -> tuple[dict[str, Any] | None, Scores | None, list[str]]:
    """The champion's version and scores on the same rows, or reasons it cannot be scored.

    The champion takes the columns it was trained on, which may differ from the candidate's.
    """
    version = champion_version(client, config.mlflow.registered_model, config.mlflow.champion_alias)
    if version is None:
        return None, None, []
    about = {"version": str(version.version), "run_id": version.run_id}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            model_dir = download_deployed(version, Path(scratch))
            model = load_sklearn_model(model_dir)
            x_test = model_inputs(holdout_rows, model_dir, str(config.data_path))
        about["decision_threshold"] = decision_threshold(model)
        scores = score(
            model, x_test, y_test, config.data.task, config.data.positive_class, config.metrics
        )
    except MlflowException:
        raise  # the tracking server, not the champion: reported as such (tracking_errors)
    except Exception as error:  # the stored model, its shipped code or today's libraries
        # Fail closed: a candidate cannot be shown to be no worse than a champion we cannot
        # score. The champion is loaded with its own shipped code and today's libraries, so
        # anything may fail: an import its module makes, a class a library renamed.
        cause = (
            str(error) if isinstance(error, PipelineError) else f"{type(error).__name__}: {error}"
        )
        reason = (
            f"the champion (version {version.version}) could not be scored on the held-out "
            f"rows: {cause}"
        )
        return {**about, "metrics": None}, None, [reason]
    return about, scores, []


def _resampling(config: Config, split: Split) -> Resampling:
    """What the bootstrap draws, by the rule of the held-out split: whole groups, blocks of
    consecutive times (as the split read them), else rows."""
    settings, held_out = config.split, split.x_test.index
    if settings.group_column:
        return Resampling.of_groups(split.frame.loc[held_out, settings.group_column])
    if split.times is not None:
        return Resampling.of_times(split.times.loc[held_out])
    return Resampling()


def _estimates(
    config: Config,
    truth: Any,
    candidate: Predictions,
    champion: Predictions | None,
    classes: Classes | None,
    resampling: Resampling,
) -> dict[str, Estimate]:
    """Values, intervals and paired differences from the bootstrap (mlops/bootstrap.py)."""
    return paired_bootstrap(
        config.data.task,
        config.metrics,
        truth,
        candidate,
        champion,
        confidence=config.gate.confidence,
        resamples=config.gate.bootstrap_resamples,
        seed=config.split.seed,
        positive=classes.positive if classes else None,
        resampling=resampling,
    )


def _links(
    uri: str, client: MlflowClient, run_id: str, config: Config, champion: dict | None
) -> dict[str, str]:
    """Where a reader goes next: the run and the champion on the tracking server's UI (with
    a server), and this workflow run and its artifacts (on GitHub Actions)."""
    links = {}
    server = server_ui_url(uri)
    if server:
        experiment = client.get_run(run_id).info.experiment_id
        links["run"] = f"{server}/#/experiments/{experiment}/runs/{run_id}"
        if champion:
            name, version = config.mlflow.registered_model, champion["version"]
            links["champion"] = f"{server}/#/models/{name}/versions/{version}"
    run_url = github_run_url()
    if run_url:
        links["workflow_run"] = run_url
        links["artifacts"] = f"{run_url}#artifacts"
    return links


def _tracking_store(uri: str, config: Config) -> str:
    """Where a reader finds the run when no server links to it: "embedded" for the store
    beside the config, else the store's address without credentials."""
    return "embedded" if uri == embedded_tracking_uri(config.root) else redact(uri)


def _gate_changes(base_ref: str | None, config: Config) -> dict | None:
    """On a pull request: how its config loosens the base branch's gate, if it does."""
    if not base_ref:
        return None
    try:
        base = gate_at_revision(base_ref, config.file)
    except PipelineError as error:
        return {"base_ref": base_ref, "loosened": [], "error": str(error)}
    return {"base_ref": base_ref, "loosened": loosened(base.settings(), config.gate.settings())}


def _holdout(config: Config, training: dict[str, Any], trained: Trained | None) -> Split:
    """The split the model was trained on: handed over by training in this process, else read
    again and checked against what training.json recorded."""
    if file_sha256(config.data_path) != training["data_sha256"]:
        raise PipelineError(
            f"{config.data_path}: changed since the model was trained; run train_model.py again"
        )
    if trained is not None:
        return trained.split
    split = holdout_split(load_dataset(config.data_path, config.data.max_file_mb), config)
    if training.get("holdout_sha256") not in (None, rows_sha256(split.x_test.index)):
        raise PipelineError(
            f"{config.data_path}: the held-out rows differ from the ones set aside at training "
            "(split settings or library versions changed); run train_model.py again"
        )
    return split


def evaluate(
    config: Config, base_ref: str | None = None, trained: Trained | None = None
) -> Evaluated:
    """Evaluate the model training.json names. `base_ref`: on a pull request, the base
    branch's commit, whose gate section is compared with this one. `trained`: the training
    step's result in this process (its split and model, instead of reading them again)."""
    outputs = outputs_dir(config)
    training = read_json(outputs / TRAINING_FILE, "train_model.py")
    if trained is not None and trained.run_id != training["run_id"]:
        trained = None  # training.json names another run: read that one's model and data
    split = _holdout(config, training, trained)
    x_test, y_test = split.x_test, split.y_test
    gate_changes = _gate_changes(base_ref, config)

    uri = configure_tracking(config)
    client = MlflowClient()
    with tracking_errors(uri):
        with tempfile.TemporaryDirectory() as scratch:
            model_dir = download_model(training["model_uri"], Path(scratch))
            model_sha256 = directory_sha256(model_dir)
            model = trained.model if trained is not None else load_sklearn_model(model_dir)
        candidate = score(
            model, x_test, y_test, config.data.task, config.data.positive_class, config.metrics
        )
        champion, champion_scores, champion_problems = _score_champion(
            config, client, split.frame.loc[x_test.index], y_test
        )
        links = _links(uri, client, training["run_id"], config, champion)
        history = metric_history(
            client,
            config.mlflow.registered_model,
            main_metric(config),
            config.report.history_versions,
        )

    task, positive = config.data.task, config.data.positive_class
    classes = None
    if task == "classification":  # the classes of the truth and of both models
        known = [candidate.classes, champion_scores.classes if champion_scores else []]
        classes = Classes.of(positive, y_test, *known)
    truth = true_values(y_test, classes)
    candidate_view = candidate.for_metrics(classes)
    champion_view = champion_scores.for_metrics(classes) if champion_scores else None
    resampling = _resampling(config, split)
    estimates = _estimates(config, truth, candidate_view, champion_view, classes, resampling)
    no_intervals = resampling.shortfall
    decision = decide(
        estimates,
        config.gate.settings(),
        has_champion=champion_scores is not None,
        no_intervals=no_intervals,
    )
    passed = decision.passed and not champion_problems
    reasons = champion_problems + decision.reasons if champion_problems else decision.reasons
    summary = f"No deploy: {champion_problems[0]}." if champion_problems else decision.summary
    metrics = {name: estimate.value for name, estimate in estimates.items()}
    if champion is not None and champion_scores is not None:
        champion["metrics"] = {name: estimate.champion for name, estimate in estimates.items()}
    models = {"candidate": candidate_view}
    if champion_view is not None:
        models[f"champion v{champion['version']}"] = champion_view
    if history and estimates[main_metric(config)].value is not None:
        history.append(("candidate", estimates[main_metric(config)].value))
    importances = permutation_importance_of(
        model, x_test, y_test, task, positive, main_metric(config), config.split.seed
    )
    charts = evaluation_charts(
        config, truth, models, history, importances, classes.positive if classes else None
    )
    per_class = None
    if config.shape == "multiclass":
        per_class = class_report(
            list(classes.names),
            truth,
            candidate_view,
            champion_view,
            candidate.classes,
            champion_scores.classes if champion_scores else None,
            config.metrics,
        )
    predictions_path = outputs / HOLDOUT_PREDICTIONS
    candidate.predictions.to_csv(predictions_path)
    evaluation = {
        "run_id": training["run_id"],
        "model_uri": training["model_uri"],
        "model_sha256": model_sha256,
        "data_sha256": training["data_sha256"],
        "registered_model": config.mlflow.registered_model,
        "holdout_rows": len(x_test),
        "split": split.about,
        "resampling": {**resampling.about(), "shortfall": no_intervals},
        "task": config.data.task,
        "main_metric": main_metric(config),
        "positive_class": config.data.positive_class,
        "classes": per_class,
        # Each model's labels at its own threshold (None: the estimator's own predict).
        "decision_threshold": decision_threshold(model),
        "decision_threshold_rule": training.get("decision_threshold_rule"),
        "metrics": metrics,
        "thresholds": config.gate.thresholds,
        "champion_tolerance": config.gate.champion_tolerance,
        "gate": {
            "rule": config.gate.rule,
            "threshold_on": config.gate.threshold_on,
            "confidence": config.gate.confidence,
            "bootstrap_resamples": config.gate.bootstrap_resamples,
            "seed": config.split.seed,
        },
        "gate_changes": gate_changes,
        "champion": champion,
        "decision": "passed" if passed else "rejected",
        "deploy": passed,
        "pull_request": on_pull_request(),
        "summary": summary,
        "reasons": reasons,
        "checks": decision.to_dict()["checks"],
        "charts": [chart_to_dict(chart) for chart in charts],
        "links": links,
        "tracking_store": _tracking_store(uri, config),
        "mermaid": config.report.mermaid,
        "predictions_file": HOLDOUT_PREDICTIONS,
        "predictions_sha256": file_sha256(predictions_path),
    }
    report = evaluation_markdown(evaluation)

    with tracking_errors(uri), mlflow.start_run(run_id=training["run_id"]):
        mlflow.log_metrics(_metrics_to_log(estimates))
        mlflow.set_tags(
            {
                "gate.decision": evaluation["decision"],
                "gate.reasons": "; ".join(reasons)[:5000],
                "model.sha256": model_sha256,
                "champion.version": champion["version"] if champion else "none",
            }
        )
        figures = save_figures(config, charts, y_test, candidate.predictions["prediction"], outputs)
        for path in figures:
            mlflow.log_artifact(str(path), "evaluation")
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
            **{k: f"{v:.4f}" for k, v in metrics.items() if v is not None},
        }
    )
    log.info(evaluation_text(evaluation, figures, outputs / EVALUATION_REPORT))
    return Evaluated(evaluation, report)
