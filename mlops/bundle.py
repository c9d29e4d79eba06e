"""Export the champion as a deployable bundle: MLflow model directory, pinned requirements and
a Dockerfile, after checking its files are the ones that were evaluated."""

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from mlops.config import Config
from mlops.errors import PipelineError, Refused
from mlops.handoff import github_output, github_run_url, github_summary, outputs_dir
from mlops.registry import champion_version, directory_sha256
from mlops.tracking import configure_tracking, tracking_errors

log = logging.getLogger(__name__)

BUNDLE_DIR = "bundle"
MODEL_DIR = "model_dir"  # where generate-dockerfile puts the model (COPY model_dir ...)
# MLflow 3.17 loads scikit-learn models (skops files too) only with this flag; the bundle's
# files were checked against the fingerprint recorded at evaluation before it was written.
SERVING_ENV = "ENV MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true\n"


def export_bundle(config: Config) -> Path:
    """outputs/bundle/ for the champion; refused unless its files match its fingerprint."""
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    uri = configure_tracking(config)
    bundle = outputs_dir(config) / BUNDLE_DIR
    with tracking_errors(uri):
        version = champion_version(MlflowClient(), name, alias)
        if version is None:
            raise PipelineError(f"{name} has no @{alias} yet; run the pipeline first")
        shutil.rmtree(bundle, ignore_errors=True)
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "models",
                "generate-dockerfile",
                "-m",
                f"models:/{name}/{version.version}",
                "-d",
                str(bundle),
                "--env-manager",
                "local",
            ],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise PipelineError(f"mlflow models generate-dockerfile failed: {result.stderr[-500:]}")
    # What the image will hold must be exactly what was evaluated.
    if directory_sha256(bundle / MODEL_DIR) != version.tags.get("model.sha256"):
        shutil.rmtree(bundle)
        raise Refused(
            f"{name} version {version.version}: model files differ from the evaluated ones "
            "(tag model.sha256); no bundle written"
        )
    dockerfile = bundle / "Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(text.replace("\nENTRYPOINT", f"\n{SERVING_ENV}\nENTRYPOINT", 1))
    (bundle / "VERSION").write_text(f"{name} {version.version}\n")
    github_output({"bundle": str(bundle), "version": str(version.version)})
    run_url = github_run_url()
    github_summary(
        f"## Bundle\n{name} version {version.version}: model directory with its pinned "
        "requirements and a Dockerfile"
        + (
            f", in the `model-bundle` artifact of [this run]({run_url}#artifacts)."
            if run_url
            else "."
        )
    )
    log.info(
        f"exported {name} version {version.version} to {bundle} "
        "(model_dir/ with requirements.txt, Dockerfile)"
    )
    return bundle
