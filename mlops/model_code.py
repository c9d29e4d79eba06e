"""The code a model needs besides its libraries, and the libraries themselves.

The project's own module (`project_model.py`, or a `project_model/` package, beside
config.yaml) holds the classes and factories a fork writes for its model. skops records each
object's class as `module.Class`, so the module is imported under that one fixed name at
training and shipped with the model (MLflow's `code_paths`, the model's `code/` folder); every
loader puts the model's own `code/` first on `sys.path`, so a model always loads with the code
it was trained with, never with today's checkout. The template's `pyfunc_model.py`, through
which MLflow's clients load the model, travels the same way: `shipped_code` lists what is
shipped, `shipped_code_on_path` loads whatever a model's `code/` holds.

This module imports neither scikit-learn nor MLflow: the config check uses it.
"""

import ast
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import packages_distributions, version
from pathlib import Path
from types import ModuleType

from mlops.errors import PipelineError

PROJECT_MODULE = "project_model"
# The module MLflow's clients load every model through (its pyfunc loader_module).
PYFUNC_MODULE = Path(__file__).with_name("pyfunc_model.py")


def project_module_path(root: Path) -> Path | None:
    """project_model.py or the project_model/ package folder in `root`, if there is one."""
    file, package = root / f"{PROJECT_MODULE}.py", root / PROJECT_MODULE
    has_package = (package / "__init__.py").is_file()
    if file.is_file() and has_package:
        raise ValueError(
            f"model.estimator: both {file.name} and {package.name}/ are in {root}; keep one "
            f"(`import {PROJECT_MODULE}` would take the package)"
        )
    return file if file.is_file() else package if has_package else None


def _forget(names: list[str]) -> None:
    """Drop modules (and their submodules) from the import cache, so the next import reads
    them again from wherever sys.path now points."""
    for loaded in list(sys.modules):
        if loaded.split(".")[0] in names:
            del sys.modules[loaded]


def import_project_module(root: Path) -> ModuleType:
    """The project's module from `root`, imported under its fixed name (whatever else is on
    sys.path: the checkout's own copy must not stand in for a fixture's or a fork's)."""
    path = project_module_path(root)
    if path is None:
        raise ValueError(
            f"model.estimator is {PROJECT_MODULE!r}, but {root} has no {PROJECT_MODULE}.py "
            f"(nor a {PROJECT_MODULE}/ package); see docs/adapt.md#your-own-model"
        )
    file = path / "__init__.py" if path.is_dir() else path
    loaded = sys.modules.get(PROJECT_MODULE)
    if loaded is not None and getattr(loaded, "__file__", None) == str(file):
        return loaded
    _forget([PROJECT_MODULE])
    spec = importlib.util.spec_from_file_location(
        PROJECT_MODULE, file, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[PROJECT_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the fork's code: any failure is reported as one line
        _forget([PROJECT_MODULE])
        raise ValueError(
            f"model.estimator: {path.name} could not be imported: {type(error).__name__}: {error}"
        ) from None
    return module


def shipped_code(root: Path) -> list[Path]:
    """The files and folders that travel with every model trained in the project at `root`:
    the project's module, if it has one, and the model's pyfunc interface."""
    path = project_module_path(root)
    return [path, PYFUNC_MODULE] if path is not None else [PYFUNC_MODULE]


def module_names(paths: list[Path]) -> list[str]:
    """The import names of shipped modules: a .py file's stem, a package folder's name."""
    return sorted(
        path.stem if path.is_file() else path.name
        for path in paths
        if (path.is_file() and path.suffix == ".py") or (path / "__init__.py").is_file()
    )


@contextmanager
def shipped_code_on_path(model_dir: Path, code: str | None) -> Iterator[None]:
    """Load a model with the code shipped in it: `model_dir/<code>` first on sys.path, and
    any module of the same name imported before (the checkout's, another model's) forgotten.
    No bytecode is written into the model's files, whose fingerprint must not change."""
    code_dir = model_dir / code if code else None
    if code_dir is None or not code_dir.is_dir():
        yield
        return
    _forget(module_names(list(code_dir.iterdir())))
    entry, writes_bytecode = str(code_dir), sys.dont_write_bytecode
    sys.path.insert(0, entry)
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = writes_bytecode
        sys.path[:] = [p for p in sys.path if p != entry]  # MLflow's loaders add it too


def missing_modules(type_names: list[str]) -> dict[str, str]:
    """{type: its module} for the types whose module cannot be imported from sys.path."""
    missing = {}
    for name in type_names:
        module = name.rsplit(".", 1)[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing[name] = module
    return missing


def _top_level(module: str) -> str:
    return module.split(".")[0]


def unshippable(names: list[str], shipped: list[str]) -> dict[str, str]:
    """{name: where this process imports it from} for dotted names (types, modules) that come
    from neither a shipped module, nor the standard library, nor an installed distribution,
    so a model server would not have them: a helper module beside config.yaml, the template's
    own mlops package. A name that does not import here either (an optional dependency
    behind a try) is left out."""
    distributions = packages_distributions()
    problems = {}
    for name in names:
        top = _top_level(name)
        if top in shipped or top in sys.builtin_module_names or top in sys.stdlib_module_names:
            continue
        if top in distributions:
            continue
        origin = getattr(sys.modules.get(top), "__file__", None)
        if origin is None:
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            if spec is None:
                continue
            origin = spec.origin
        problems[name] = origin or "an unknown location"
    return problems


def refuse_unshippable(what: str, names: list[str], shipped: list[str]) -> None:
    """Stop training when `names` (what the model holds, or what the shipped code imports,
    as `what` says) include one a model server could not import."""
    found = unshippable(names, shipped)
    if found:
        where = "; ".join(f"{name} (from {origin})" for name, origin in found.items())
        raise PipelineError(
            f"{what} {where}, which a model server could not import; nothing was saved. "
            f"Keep that code in {PROJECT_MODULE}.py (or the {PROJECT_MODULE}/ package), "
            "which travels with the model, or install it as a package (requirements.in)"
        )


def imported_names(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a Python file or every file of a package."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    names = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
            if isinstance(node, ast.Import):
                names.update(_top_level(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(_top_level(node.module))
    return names


def pinned_requirements(
    base: tuple[str, ...], type_names: list[str], code: list[Path]
) -> list[str]:
    """`distribution==version` for the `base` distributions, then for every installed
    distribution that a type in the model or an import in the shipped code comes from
    (`lightgbm` for lightgbm.basic.Booster, `scikit-learn` for sklearn)."""
    distributions = packages_distributions()
    modules = {_top_level(name) for name in type_names}
    for path in code:
        modules |= imported_names(path)
    names = list(base)
    for module in sorted(modules):
        for distribution in distributions.get(module, []):
            if distribution.lower() not in {name.lower() for name in names}:
                names.append(distribution)
    return [f"{name}=={version(name)}" for name in names]
