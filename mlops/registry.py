"""Model files and the model registry: safe loading, fingerprints, the champion alias."""

import hashlib
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from mlops.errors import PipelineError
from mlops.modeling import trusted_types

PREVIOUS_CHAMPION_TAG = "previous_champion_version"
# Written by MLflow when a version is registered (the model's name and version): not model content.
REGISTRY_METADATA_FILE = "registered_model_meta"


def download_model(model_uri: str, destination: Path | None = None) -> Path:
    """A local copy of the model directory behind any MLflow model URI."""
    destination = destination or Path(tempfile.mkdtemp(prefix="model-"))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination))
    )
    if not (local / "MLmodel").is_file():
        raise PipelineError(f"{model_uri}: no model files found in the artifact store")
    return local


def directory_sha256(directory: Path) -> str:
    """One fingerprint for every file of a model directory (names and contents)."""
    digest = hashlib.sha256()
    files = (p for p in directory.rglob("*") if p.is_file() and p.name != REGISTRY_METADATA_FILE)
    for path in sorted(files):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_sklearn_model(model_dir: Path) -> Pipeline:
    """Load a skops-format model with the project's reviewed trust list, never with pickle.

    MLflow's own loader trusts the type list stored inside the model, so a crafted model could
    trust anything; here the list comes from this repository (mlops/modeling.py).
    """
    import skops.io  # noqa: PLC0415 (scans every scikit-learn type on import: 1.5 s)

    flavor = Model.load(str(model_dir)).flavors.get("sklearn")
    if flavor is None:
        raise PipelineError(f"{model_dir}: not a scikit-learn MLflow model")
    if flavor.get("serialization_format") != "skops":
        raise PipelineError(
            f"{model_dir}: saved as {flavor.get('serialization_format')!r}; only 'skops' files "
            "are loaded, since pickle runs code on load"
        )
    path = model_dir / flavor["pickled_model"]
    untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted_types()))
    if untrusted:
        raise PipelineError(
            f"{path}: contains types not on the reviewed trust list: {untrusted}; review them "
            "and add them to skops_trusted_types in mlops/modeling.py"
        )
    return skops.io.load(path, trusted=trusted_types())


def check_skops_safe(model: Pipeline, trusted: list[str]) -> None:
    """Refuse, before anything is written, a model that skops could only load by trusting more.

    Saving first and failing later would leave a half-written model in the artifact store.
    """
    import skops.io  # noqa: PLC0415 (see load_sklearn_model)

    untrusted = sorted(set(skops.io.get_untrusted_types(data=skops.io.dumps(model))) - set(trusted))
    if untrusted:
        raise PipelineError(
            f"the model contains types skops will not load without trusting them: {untrusted}; "
            "review them and add them to skops_trusted_types in mlops/modeling.py"
        )


def champion_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version the alias points to, or None when there is no such model or alias yet."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def metric_history(
    client: MlflowClient, name: str, metric: str, last: int
) -> list[tuple[str, float]]:
    """("v<N>", value) of the last `last` registered versions that carry the metric's
    `metric.<name>` tag (deploy writes it), oldest first."""
    if last == 0:
        return []
    history = []
    for version in client.search_model_versions(f"name = '{name}'"):
        value = version.tags.get(f"metric.{metric}")
        if value is not None:
            history.append((int(version.version), float(value)))
    return [(f"v{number}", value) for number, value in sorted(history)[-last:]]
