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
# The line of MLflow's Dockerfile that installs system packages (it starts from python:slim).
APT_INSTALL = "apt-get install -y --no-install-recommends nginx"
# Debian packages a model's distribution needs that its wheel does not bundle (readelf -d on
# the wheel's libraries): LightGBM's links the system OpenMP runtime; xgboost-cpu and
# xgboost bundle their own.
SYSTEM_PACKAGES: dict[str, tuple[str, ...]] = {"lightgbm": ("libgomp1",)}


def system_packages(requirements: list[str]) -> list[str]:
    """The Debian packages the image needs for these pinned requirements (`name==version`)."""
    names = {line.split("==")[0].strip().lower() for line in requirements if line.strip()}
    return sorted({package for name in names for package in SYSTEM_PACKAGES.get(name, ())})


def serving_dockerfile(generated: str, requirements: list[str]) -> str:
    """MLflow's generated Dockerfile with the system packages the model's libraries need and
    the flag its scikit-learn loader requires."""
    if APT_INSTALL not in generated or "\nENTRYPOINT" not in generated:
        raise PipelineError(
            "mlflow models generate-dockerfile wrote an unexpected Dockerfile (no "
            f"{APT_INSTALL!r} line or no ENTRYPOINT); check the MLflow version"
        )
    extra = system_packages(requirements)
    text = generated.replace(APT_INSTALL, " ".join([APT_INSTALL, *extra]), 1)
    return text.replace("\nENTRYPOINT", f"\n{SERVING_ENV}\nENTRYPOINT", 1)


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
    requirements = (bundle / MODEL_DIR / "requirements.txt").read_text().splitlines()
    dockerfile.write_text(serving_dockerfile(dockerfile.read_text(), requirements))
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
