"""Model files and the model registry: safe loading, fingerprints, the champion alias."""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.models.model import ModelInfo
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from mlops.errors import PipelineError
from mlops.model_code import (
    PROJECT_MODULE,
    PYFUNC_MODULE,
    missing_modules,
    refuse_unshippable,
    shipped_code_on_path,
)
from mlops.modeling import REVIEWED_TYPES

PREVIOUS_CHAMPION_TAG = "previous_champion_version"
# Written by MLflow when a version is registered (the model's name and version): not model content.
REGISTRY_METADATA_FILE = "registered_model_meta"


class _SklearnFlavorWithProjectInterface:
    """MLflow's scikit-learn flavor, but MLflow's pyfunc clients (serve, predict, pyfunc) load
    the model through the project's module (mlops/pyfunc_model.py, shipped in code/), which
    reads request parameters; the sklearn flavor and its skops file are left as MLflow writes
    them. `Model.log` calls `save_model` to write the model's directory."""

    @staticmethod
    def save_model(path: str, mlflow_model: Model, **kwargs: Any) -> None:
        mlflow.sklearn.save_model(path=path, mlflow_model=mlflow_model, **kwargs)
        mlflow_model.flavors[mlflow.pyfunc.FLAVOR_NAME][mlflow.pyfunc.MAIN] = PYFUNC_MODULE.stem
        mlflow_model.save(os.path.join(path, "MLmodel"))


def log_model(model: Any, **kwargs: Any) -> ModelInfo:
    """`mlflow.sklearn.log_model(model, name="model", **kwargs)`, with the project's pyfunc
    interface; `code_paths` must include mlops/pyfunc_model.py (model_code.shipped_code)."""
    return Model.log(
        artifact_path=None,  # deprecated for `name`, but still a required argument
        name="model",
        flavor=_SklearnFlavorWithProjectInterface,
        flavor_name=mlflow.sklearn.FLAVOR_NAME,
        sk_model=model,
        **kwargs,
    )


def download_model(model_uri: str, destination: Path | None = None) -> Path:
    """A local copy of the model directory behind any MLflow model URI."""
    destination = destination or Path(tempfile.mkdtemp(prefix="model-"))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination))
    )
    if not (local / "MLmodel").is_file():
        raise PipelineError(f"{model_uri}: no model files found in the artifact store")
    return local


def download_deployed(version: ModelVersion, destination: Path) -> Path:
    """A registered version's files, refused unless they are the ones recorded at deploy
    (tag model.sha256): the trust list in them is what loads them."""
    model_dir = download_model(f"models:/{version.name}/{version.version}", destination)
    if directory_sha256(model_dir) != version.tags.get("model.sha256"):
        raise PipelineError(
            f"{version.name} version {version.version}: model files differ from the ones "
            "recorded at deploy (tag model.sha256)"
        )
    return model_dir


def directory_sha256(directory: Path) -> str:
    """One fingerprint for every file of a model directory (names and contents)."""
    digest = hashlib.sha256()
    files = (p for p in directory.rglob("*") if p.is_file() and p.name != REGISTRY_METADATA_FILE)
    for path in sorted(files):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_sklearn_model(model_dir: Path) -> Pipeline:
    """Load a skops-format model with the code shipped in it and the trust list recorded with
    it at training, never with pickle.

    The recorded list is the template's reviewed types plus the config's model.trusted_types
    when the model was trained (so a champion trained under an older config still loads); it
    sits in the MLmodel file, covered by the fingerprint that deploy, rollback, monitoring,
    the bundle and the champion's evaluation check before they load a registered version.
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
    trusted = flavor.get("skops_trusted_types") or list(REVIEWED_TYPES)
    needed = skops.io.get_untrusted_types(file=path)
    untrusted = sorted(set(needed) - set(trusted))
    if untrusted:
        raise PipelineError(
            f"{path}: holds types its recorded trust list (skops_trusted_types in MLmodel) "
            f"does not: {untrusted}; it was not saved by this project's training"
        )
    with shipped_code_on_path(model_dir, flavor.get("code")):
        missing = missing_modules(needed)
        if missing:
            classes = ", ".join(sorted(missing))
            raise PipelineError(
                f"{model_dir}: cannot be loaded: it holds {classes}, but no module "
                f"{sorted(set(missing.values()))} is shipped with it (code/) or installed; a "
                f"model loads only with the code it was trained with: keep your classes in "
                f"{PROJECT_MODULE}.py (or the {PROJECT_MODULE}/ package), which travels with "
                "every model, and train again"
            )
        return skops.io.load(path, trusted=trusted)


def check_skops_safe(
    model: Pipeline, trusted: list[str], shipped: list[str], config_name: str
) -> list[str]:
    """Refuse, before anything is written, a model that skops cannot store, could only load
    by trusting more than `trusted`, or that needs code a server would not have. Returns the
    types skops had to be told to trust (their libraries are the model's requirements).

    Saving first and failing later would leave a half-written model in the artifact store;
    and a model skops cannot store is never saved another way (pickle runs code on load).
    """
    import skops.io  # noqa: PLC0415 (see load_sklearn_model)

    try:
        data = skops.io.dumps(model)
    except Exception as error:  # skops' refusal, in its words
        raise PipelineError(
            f"skops cannot store the fitted model ({type(error).__name__}: {error}); nothing "
            "was saved: the project stores models only with skops, never with pickle"
        ) from None
    needed = skops.io.get_untrusted_types(data=data)
    untrusted = sorted(set(needed) - set(trusted))
    if untrusted:
        raise PipelineError(
            f"{config_name}: model.trusted_types: the fitted model holds types that skops "
            f"does not trust by default: {untrusted}; nothing was saved. Review each one "
            "(what loading it runs: docs/security.md#model-files) and, once reviewed, list "
            "it under model.trusted_types"
        )
    refuse_unshippable("the fitted model holds", needed, shipped)
    try:
        skops.io.loads(data, trusted=trusted)
    except Exception as error:  # skops or the library's loader, in its words
        raise PipelineError(
            f"skops stores the fitted model but cannot load it back ({type(error).__name__}: "
            f"{error}); nothing was saved"
        ) from None
    return needed


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
