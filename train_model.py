"""Train the configured scikit-learn pipeline and log it, its data and its parameters to MLflow.

Writes outputs/training.json (run id, model URI, data fingerprint) for evaluate_model.py.
Exit codes: 0 trained, 2 the data, config or tracking server was unusable.
"""

import time
import warnings
from importlib.metadata import version

import mlflow
from sklearn.utils._param_validation import InvalidParameterError

from mlops.cli import parse_args, script_parser
from mlops.config import config_sha256, load_config
from mlops.data import file_sha256, holdout_split, load_dataset, schema_sample
from mlops.errors import PipelineError, run_script
from mlops.handoff import TRAINING_FILE, github_output, outputs_dir, write_json
from mlops.modeling import COMMON_TRUSTED_TYPES, ESTIMATORS
from mlops.registry import check_skops_safe
from mlops.scoring import NUMERIC_FEATURES, model_signature
from mlops.tracking import configure_tracking, git_tags, tracking_errors

# What a model server needs to load the model; pinned to the versions it was trained with.
# Passing them explicitly also saves MLflow ~2.5 s of requirement inference per model.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")


def main() -> int:
    parser = script_parser(__doc__)
    args = parse_args(parser)

    config = load_config(args.config)
    frame = load_dataset(config.data_path, config.data.max_file_mb)
    x_train, x_test, y_train, _ = holdout_split(frame, config)
    pipeline = config.model_pipeline()
    estimator = pipeline.named_steps["estimator"]

    started = time.perf_counter()
    try:
        pipeline.fit(x_train, y_train)
    except (InvalidParameterError, ValueError, TypeError) as error:
        raise PipelineError(
            f"model: {config.model.estimator} ({type(estimator).__name__}) could not be "
            f"fitted on {config.data_path.name}: {error}"
        ) from None
    fit_seconds = time.perf_counter() - started
    spec = ESTIMATORS[config.data.task][config.model.estimator]
    trusted = [*COMMON_TRUSTED_TYPES, *spec.skops_trusted_types]
    check_skops_safe(pipeline, trusted)  # before any run exists

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
                "model.estimator": config.model.estimator,
                **{f"model.{k}": v for k, v in estimator.get_params().items()},
            }
        )
        with warnings.catch_warnings():
            # MLflow registers its local-file source twice and warns that the path is ambiguous,
            # and hints about integer columns in the raw data (the model sees them as floats).
            warnings.simplefilter("ignore", UserWarning)
            datasets = {
                context: mlflow.data.from_pandas(
                    frame.loc[rows.index],
                    source=str(config.data_path),
                    targets=config.data.target,
                    name=f"{config.data_path.stem}-{context}",
                )
                for context, rows in (("training", x_train), ("evaluation", x_test))
            }
            for context, dataset in datasets.items():
                mlflow.log_input(dataset, context=context)
        mlflow.log_metrics({"fit_time_seconds": fit_seconds, "train_rows": len(x_train)})
        example = x_train.head(5)
        sample = schema_sample(x_train)
        signature = model_signature(sample, pipeline.predict(sample), config.data.numeric_features)
        model_info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=signature,
            metadata={NUMERIC_FEATURES: config.data.numeric_features},
            input_example=example,
            pip_requirements=[f"{package}=={version(package)}" for package in MODEL_REQUIREMENTS],
            serialization_format="skops",
            skops_trusted_types=trusted,
        )

    handoff = {
        "run_id": run.info.run_id,
        "model_uri": model_info.model_uri,
        "data_sha256": data_sha256,
        "dataset_digest": datasets["training"].digest,
        "estimator": config.model.estimator,
    }
    write_json(outputs_dir(config) / TRAINING_FILE, handoff)
    github_output({"run_id": run.info.run_id, "model_uri": model_info.model_uri})
    print(
        f"trained {config.model.estimator} on {len(x_train)} rows in {fit_seconds:.2f} s; "
        f"MLflow run {run.info.run_id}"
    )
    return 0


if __name__ == "__main__":
    run_script(main)
