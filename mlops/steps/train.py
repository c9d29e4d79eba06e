"""Train the configured scikit-learn pipeline and log it, its data and its parameters to MLflow.

Writes outputs/training.json (run id, model URI, data fingerprints) for the evaluate step.
"""

import hashlib
import json
import logging
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Dataset as DatasetRecord
from mlflow.entities import DatasetInput, InputTag
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from mlops.config import Config, ThresholdTuning, config_sha256
from mlops.data import file_sha256, load_dataset, rows_sha256, schema_sample, spread_sample
from mlops.decision_threshold import Thresholded, fit_with_threshold, inner_model
from mlops.errors import PipelineError
from mlops.handoff import TRAINING_FILE, github_output, outputs_dir, write_json
from mlops.model_code import (
    imported_names,
    module_names,
    pinned_requirements,
    refuse_unshippable,
    shipped_code,
)
from mlops.modeling import REVIEWED_TYPES
from mlops.pyfunc_model import FEATURES, NUMERIC_FEATURES, params_schema
from mlops.registry import check_skops_safe, log_model
from mlops.splits import Split, holdout_split, split_words, training_folds
from mlops.tracking import configure_tracking, git_tags, tracking_errors

log = logging.getLogger(__name__)

# What a model server needs to load the model; pinned to the versions it was trained with.
# Passing them explicitly also saves MLflow ~2.5 s of requirement inference per model.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")


@dataclass(frozen=True)
class Trained:
    """What training.json records, and (for the next step in the same process) the split
    and the fitted pipeline themselves."""

    record: dict[str, Any]
    split: Split
    model: Any

    @property
    def run_id(self) -> str:
        return self.record["run_id"]


def _dataset_record(
    frame: pd.DataFrame, rows: pd.Index, name: str, source: str, target: str, digest: str
) -> DatasetRecord:
    """MLflow's record of a dataset, from a bounded sample: MLflow would infer the schema
    and the digest from every row (tens of seconds at a million rows). The digest comes from
    the file's sha256 and the rows' numbers; the profile counts every row."""
    with warnings.catch_warnings():
        # MLflow registers its local-file source twice and warns that the path is ambiguous,
        # and hints about integer columns in the raw data (the model sees them as floats).
        warnings.simplefilter("ignore", UserWarning)
        sample = mlflow.data.from_pandas(
            schema_sample(frame, rows), source=source, targets=target, name=name, digest=digest
        )
        fields = sample.to_dict()
    return DatasetRecord(
        name=fields["name"],
        digest=fields["digest"],
        source_type=fields["source_type"],
        source=fields["source"],
        schema=fields.get("schema"),
        profile=json.dumps({"num_rows": len(rows), "num_elements": len(rows) * frame.shape[1]}),
    )


def _log_datasets(config: Config, run_id: str, frame: pd.DataFrame, split: Split, sha: str):
    """The training and held-out rows as the run's two dataset inputs; returns their digests."""
    digests, inputs = {}, []
    for context, rows in (("training", split.x_train), ("evaluation", split.x_test)):
        digest = hashlib.sha256(f"{sha}:{rows_sha256(rows.index)}".encode()).hexdigest()[:16]
        record = _dataset_record(
            frame,
            rows.index,
            f"{config.data_path.stem}-{context}",
            str(config.data_path),
            config.data.target,
            digest,
        )
        inputs.append(DatasetInput(record, [InputTag(MLFLOW_DATASET_CONTEXT, context)]))
        digests[context] = digest
    MlflowClient().log_inputs(run_id, datasets=inputs)
    return digests


def _log_reference_profile(config: Config, split: Split, model: Any, model_id: str) -> None:
    """What drift monitoring compares new data with (mlops/drift.py): the training rows'
    features and the predictions on the held-out rows. Saved among the model's files, so it
    travels with the model (registry, release store, bundle) under the same fingerprint,
    and with the run."""
    from mlops.drift import PREDICTION_ROWS, PROFILE_FILE, profile
    from mlops.scoring import prediction_scores

    held_out = split.x_test.loc[spread_sample(split.x_test.index, PREDICTION_ROWS)]
    reference = profile(
        split.x_train,
        config.data.numeric_features,
        prediction_scores(model, held_out, config.data.task, config.data.positive_class),
        list(split.frame.columns),
        config.data.task,
        config.data.positive_class,
        config.split.seed,
        split.about,
        target=split.y_train,
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / PROFILE_FILE
        path.write_text(json.dumps(reference), encoding="utf-8")
        MlflowClient().log_model_artifact(model_id, str(path))
        mlflow.log_artifact(str(path), "monitoring")


def _final_estimator(model: Any) -> Any:
    """The estimator at the end of a pipeline (or the model itself), inside the decision
    threshold if there is one."""
    model = inner_model(model)
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "(no message)"


def fit_model(config: Config, split: Split) -> Thresholded:
    """The configured pipeline fitted on the training rows alone, with its decision threshold
    (mlops/decision_threshold.py); any problem is one PipelineError."""
    setting = config.model.decision_threshold
    try:
        pipeline = config.model_pipeline()
    except ValueError as error:  # the project's module may differ from what load_config saw
        raise PipelineError(f"{config.file.name}: {error}") from None
    # Tuning's inner folds follow the held-out split's rule (random, by time, by group).
    folds = training_folds(config, split) if isinstance(setting, ThresholdTuning) else None
    try:
        return fit_with_threshold(
            pipeline, setting, split.x_train, split.y_train, config.data.positive_class, folds
        )
    except Exception as error:  # the estimator's library or the project's code: one line
        raise PipelineError(
            f"model: {config.model.estimator} ({type(_final_estimator(pipeline)).__name__}) "
            "could not be fitted on "
            f"{config.data_path.name} with model.params {config.model.params}: "
            f"{type(error).__name__}: {_first_line(error)}"
        ) from None


def train(config: Config, frame: pd.DataFrame | None = None) -> Trained:
    """Fit on the training rows of data.path (or of `frame`, read from it) and log the run."""
    if frame is None:
        frame = load_dataset(config.data_path, config.data.max_file_mb)
    split = holdout_split(frame, config)
    started = time.perf_counter()
    fitted = fit_model(config, split)
    fit_seconds = time.perf_counter() - started
    model = fitted.model
    trusted = sorted({*REVIEWED_TYPES, *config.model.trusted_types})
    code = shipped_code(config.root)
    for path in code:
        refuse_unshippable(f"{path.name} imports", sorted(imported_names(path)), module_names(code))
    stored_types = check_skops_safe(  # before any run exists
        model, trusted, module_names(code), config.file.name
    )
    requirements = pinned_requirements(MODEL_REQUIREMENTS, stored_types, code)

    uri = configure_tracking(config)
    data_sha256 = file_sha256(config.data_path)
    with tracking_errors(uri), mlflow.start_run() as run:
        mlflow.set_tags(
            {
                **git_tags(),
                "data.sha256": data_sha256,
                "config.sha256": config_sha256(config),
                "pipeline.step": "train",
            }
        )
        mlflow.log_params(
            {
                "data.path": config.data.path,
                "data.target": config.data.target,
                "data.task": config.data.task,
                "data.positive_class": config.data.positive_class or "none",
                "data.features": ",".join(config.features),
                "split.test_fraction": config.split.test_fraction,
                "split.seed": config.split.seed,
                **{
                    f"split.{key}": value
                    for key in ("time_column", "group_column")
                    if (value := getattr(config.split, key))
                },
                "model.estimator": config.model.estimator,
                "model.decision_threshold": fitted.threshold if fitted.threshold else "none",
                "model.decision_threshold_rule": fitted.rule,
                **{
                    f"model.{k}": v
                    for k, v in _final_estimator(model).get_params(deep=False).items()
                },
            }
        )
        digests = _log_datasets(config, run.info.run_id, frame, split, data_sha256)
        mlflow.log_metrics({"fit_time_seconds": fit_seconds, "train_rows": len(split.x_train)})
        model_info = log_model(
            model,
            # Parameters only: the columns are checked by mlops/pyfunc_model.py, which takes
            # numbers as clients have them (MLflow's column types could not).
            signature=ModelSignature(params=params_schema()),
            metadata={FEATURES: config.features, NUMERIC_FEATURES: config.data.numeric_features},
            input_example=split.x_train.head(5),
            pip_requirements=requirements,
            code_paths=[str(path) for path in code] or None,
            serialization_format="skops",
            skops_trusted_types=trusted,
        )
        _log_reference_profile(config, split, model, model_info.model_id)

    record = {
        "run_id": run.info.run_id,
        "model_uri": model_info.model_uri,
        "data_sha256": data_sha256,
        "holdout_sha256": rows_sha256(split.x_test.index),
        "split": split.about,
        "dataset_digest": digests["training"],
        "estimator": config.model.estimator,
        "decision_threshold": fitted.threshold,
        "decision_threshold_rule": fitted.rule,
    }
    write_json(outputs_dir(config) / TRAINING_FILE, record)
    github_output({"run_id": run.info.run_id, "model_uri": model_info.model_uri})
    threshold = ""
    if fitted.threshold is not None:
        threshold = f", decision threshold {fitted.threshold:.4g} ({fitted.rule})"
    log.info(
        f"trained {config.model.estimator} on {len(split.x_train)} rows in {fit_seconds:.2f} s"
        f"{threshold}; MLflow run {run.info.run_id}"
    )
    split_sentence = split_words(split.about)
    if split_sentence:
        log.info(split_sentence)
    return Trained(record, split, model)
