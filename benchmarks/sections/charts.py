"""Charts: what drawing every chart of the evaluation costs on a large held-out set."""

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from benchmarks.datagen import suite_ranges, synthesize
from benchmarks.report import Table
from benchmarks.runner import REPO, Context, Target, get, median, progress
from mlops.bootstrap import Predictions
from mlops.charts import mermaid, table
from mlops.config import Config, load_config
from mlops.data import load_dataset, split_features_target
from mlops.metrics import METRICS
from mlops.scoring import Classes, permutation_importance_of, score, true_values
from mlops.splits import holdout_split
from mlops.steps.evaluate import evaluation_charts, main_metric, save_figures

NAME = "charts"
TITLE = "Evaluation charts"
ABOUT = (
    "What producing every chart of the evaluation costs for 200,000 held-out rows, per task: "
    "the binary classification fixture (`tests/fixtures/projects/voter_turnout`) and the "
    "regression fixture (`tests/fixtures/projects/saratoga_houses`), whatever the checkout's "
    "own `config.yaml` holds. The candidate is the fixture's pipeline fitted on its data, "
    "the champion the same pipeline fitted on half those rows; the "
    "held-out rows are generated from the data (`benchmarks/datagen.py`) and predicted by both "
    "beforehand, as the evaluation does anyway (those seconds are shown, not counted). Timed in "
    "process after a warm-up run (so imports are not counted): the permutation importance "
    "(`mlops.scoring.permutation_importance_of`, bounded to 500 rows), the chart data "
    "(ROC and precision-recall curves, or predicted-against-actual and residuals; the metric "
    "history; the importances), their Mermaid and table renderings, and the PNG files "
    "(plus the confusion matrix for classification), with the functions "
    "`mlops/steps/evaluate.py` draws them with."
)
PEAK_MEMORY = False
REPEATED = True
ROWS = 200_000
PROJECTS = {
    task: REPO / "tests" / "fixtures" / "projects" / fixture / "config.yaml"
    for task, fixture in (("classification", "voter_turnout"), ("regression", "saratoga_houses"))
}
PHASES = ("importance", "chart_data", "markdown", "png")
LIMIT_SECONDS = 2.0


@dataclass(frozen=True)
class Case:
    """One task's fitted candidate, its held-out rows and both models' predictions on them."""

    config: Config
    model: Pipeline
    x: pd.DataFrame
    y: pd.Series
    truth: np.ndarray
    positive: int | None  # the positive class's code in `truth` (binary)
    models: dict[str, Predictions]
    labels: pd.Series  # the candidate's predicted labels, as the confusion matrix takes them
    history: list[tuple[str, float]]
    scoring_seconds: float


def _case(config_path: Path) -> Case:
    config = load_config(config_path)
    task, positive = config.data.task, config.data.positive_class
    split = holdout_split(load_dataset(config.data_path), config)
    candidate_model = config.model_pipeline().fit(split.x_train, split.y_train)
    half = len(split.x_train) // 2  # a second model of any estimator: fewer rows
    champion_model = config.model_pipeline().fit(
        split.x_train.iloc[:half], split.y_train.iloc[:half]
    )
    suite = config.root / "gx" / "expectations" / f"{config.data.expectation_suite}.json"
    held_out = synthesize(pd.read_csv(config.data_path), ROWS, suite_ranges(suite))
    x, y = split_features_target(held_out, config)
    started = time.perf_counter()
    candidate = score(candidate_model, x, y, task, positive, config.metrics)
    champion = score(champion_model, x, y, task, positive, config.metrics)
    scoring_seconds = time.perf_counter() - started
    classes = None
    if task == "classification":
        classes = Classes.of(positive, y, candidate.classes, champion.classes)
    truth = true_values(y, classes)
    models = {
        "candidate": candidate.for_metrics(classes),
        "champion v1": champion.for_metrics(classes),
    }
    # The history of the main metric over the last champions, then the candidate.
    compute = METRICS[main_metric(config)].compute
    positive_code = classes.positive if classes else None
    value = {name: compute(truth, p, positive_code) for name, p in models.items()}
    history = [
        (f"v{v}", value["champion v1"]) for v in range(1, config.report.history_versions + 1)
    ]
    if history:
        history.append(("candidate", value["candidate"]))
    return Case(
        config,
        candidate_model,
        x,
        y,
        truth,
        positive_code,
        models,
        candidate.predictions["prediction"],
        history,
        scoring_seconds,
    )


def _draw(case: Case, directory: Path) -> dict[str, float]:
    """Seconds of each phase of drawing every chart, with the functions the evaluation uses."""
    config = case.config
    task, positive, metric = config.data.task, config.data.positive_class, main_metric(config)
    started = time.perf_counter()
    importances = permutation_importance_of(
        case.model, case.x, case.y, task, positive, metric, config.split.seed
    )
    importance_done = time.perf_counter()
    charts = evaluation_charts(
        config, case.truth, case.models, case.history, importances, case.positive
    )
    data_done = time.perf_counter()
    for chart in charts:
        mermaid(chart)
        table(chart)
    markdown_done = time.perf_counter()
    pngs = save_figures(config, charts, case.y, case.labels, directory)
    done = time.perf_counter()
    return {
        "importance": importance_done - started,
        "chart_data": data_done - importance_done,
        "markdown": markdown_done - data_done,
        "png": done - markdown_done,
        "total": done - started,
        "charts": len(charts),
        "pngs": len(pngs),
    }


def run(context: Context) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for task, config_path in PROJECTS.items():
        progress(f"charts, {task}: fitting two models and predicting {ROWS:,} rows")
        case = _case(config_path)
        runs = []
        for repeat in range(context.repeats + 1):
            progress(
                f"charts, {task}: "
                + (f"run {repeat} of {context.repeats}" if repeat else "warm-up")
            )
            with tempfile.TemporaryDirectory(dir=context.scratch) as directory:
                runs.append(_draw(case, Path(directory)))
        timed = runs[1:]  # the warm-up imported matplotlib and scikit-learn's inspection
        results[task] = {
            "rows": len(case.x),
            "data": case.config.data.path,
            "estimator": case.config.model.estimator,
            "charts": timed[0]["charts"],
            "pngs": timed[0]["pngs"],
            **{f"{phase}_seconds": median(r[phase] for r in timed) for phase in PHASES},
            "total_seconds": median(r["total"] for r in timed),
            "scoring_seconds": case.scoring_seconds,
            "runs": timed,
        }
    return results


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            f"every chart of the evaluation, {ROWS // 1000}k held-out rows, {task}",
            get(results, task, "total_seconds"),
            LIMIT_SECONDS,
            "s",
        )
        for task in PROJECTS
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    rows = [
        [
            f"{task} ({r['data']}, {r['estimator']})",
            f"{r['rows']:,}",
            f"{r['charts']} / {r['pngs']}",
            *(f"{r[f'{phase}_seconds']:.2f}" for phase in PHASES),
            f"{r['total_seconds']:.2f}",
            f"{r['scoring_seconds']:.2f}",
        ]
        for task, r in results.items()
    ]
    return [
        Table(
            "Seconds per phase, in process",
            [
                "task (data, estimator)",
                "held-out rows",
                "charts / PNGs",
                "permutation importance",
                "chart data",
                "Mermaid + table",
                "PNGs (charts, confusion matrix)",
                "total",
                "predictions (not counted)",
            ],
            rows,
        )
    ]
