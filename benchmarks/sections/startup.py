"""Start-up: how fast the scripts answer --help and a config mistake, and what they import."""

import copy
from pathlib import Path
from typing import Any

import yaml

from benchmarks.report import Table
from benchmarks.runner import (
    PIPELINE_SCRIPT,
    PYTHON,
    REPO,
    STEPS,
    BenchmarkError,
    Context,
    Target,
    clean_env,
    get,
    median,
    progress,
    run_pipeline,
    run_steps,
)

NAME = "startup"
TITLE = "Start-up"
ABOUT = (
    "The wall time of a fresh process for each top-level script's `--help`, and for a config "
    "mistake: an unknown key (`mlflow.registerd_model`, a typo) and a bad model parameter "
    "(`model.params: {C: -1.0}`, which is checked by scikit-learn, so it has to be imported) "
    "in validate_data.py and train_model.py. Then what each step imports: the step scripts run "
    "in order on a fresh project copy under `python -X importtime` (which adds a little "
    "overhead of its own), and `run_pipeline.py` on another; import seconds are the sum of the "
    "cumulative times of the top-level imports, a package's figure is the self time of its own "
    "modules (what it costs beyond the packages it imports)."
)
PEAK_MEMORY = False
REPEATED = True
SCRIPTS = (
    "validate_data.py",
    "train_model.py",
    "evaluate_model.py",
    "deploy_model.py",
    PIPELINE_SCRIPT,
    "score_batch.py",
    "export_bundle.py",
    "champion_store.py",
    "monitor_model.py",
    "adapt_project.py",
    "comment_pull_request.py",
    "drift_alert.py",
)
CONFIG_ERROR_SCRIPTS = ("validate_data.py", "train_model.py")
LIMIT_SECONDS = 1.0
TOP_PACKAGES = 3


def _unknown_key(raw: dict[str, Any]) -> None:
    raw["mlflow"]["registerd_model"] = "x"


def _bad_parameter(raw: dict[str, Any]) -> None:
    raw["model"]["params"] = {"C": -1.0}


# Name -> (edit of the config, text its error message must contain).
CONFIG_ERRORS = {
    "unknown key": (_unknown_key, "mlflow.registerd_model: unknown key"),
    "bad model parameter": (_bad_parameter, "model.params"),
}


def parse_importtime(stderr: str) -> tuple[float, dict[str, float]]:
    """(import seconds, package -> seconds) from the stderr of `python -X importtime`.

    Import seconds: the sum of the cumulative times of the depth-0 imports. A package's
    seconds: the self time of its modules, so the packages add up to the total. Other lines
    (the header, the program's own messages) are skipped.
    """
    total_us = 0
    own_us: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|", 2)
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header: "self [us] | cumulative | imported package"
        self_us, cumulative_us = int(fields[0]), int(fields[1])
        name = fields[2].removeprefix(" ")  # then two spaces per level of nesting
        package = name.strip().split(".")[0]
        own_us[package] = own_us.get(package, 0) + self_us
        if not name.startswith(" "):
            total_us += cumulative_us
    return total_us / 1e6, {package: us / 1e6 for package, us in own_us.items()}


def _help(context: Context) -> dict[str, Any]:
    results = {}
    for script in SCRIPTS:
        runs = [
            context.runner.run([PYTHON, REPO / script, "--help"], context.scratch, clean_env())
            for _ in range(context.repeats)
        ]
        results[script] = {"seconds": median(r.seconds for r in runs)}
    return results


def _config_errors(context: Context) -> dict[str, Any]:
    root = context.workspace.project()
    raw = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    results: dict[str, Any] = {}
    for error, (edit, expected) in CONFIG_ERRORS.items():
        broken = copy.deepcopy(raw)
        edit(broken)
        config = root / f"config-{error.replace(' ', '-')}.yaml"
        config.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
        results[error] = {}
        for script in CONFIG_ERROR_SCRIPTS:
            command: list[str | Path] = [PYTHON, REPO / script, "--config", config]
            runs = [
                context.runner.run(command, root, clean_env(), exit_code=2)
                for _ in range(context.repeats)
            ]
            if expected not in runs[0].stderr:
                raise BenchmarkError(
                    f"{script} with a {error}: expected {expected!r} in stderr, got "
                    f"{runs[0].stderr[-500:]!r}"
                )
            results[error][script] = {"seconds": median(r.seconds for r in runs)}
    return results


def _imports(context: Context) -> dict[str, Any]:
    flags = ("-X", "importtime")
    runs: dict[str, list[tuple[float, dict[str, float]]]] = {}
    for repeat in range(context.repeats):
        progress(f"startup, imports: run {repeat + 1} of {context.repeats}")
        root = context.workspace.project()
        for step, run in run_steps(context.runner, root, flags).items():
            runs.setdefault(STEPS[step][0], []).append(parse_importtime(run.stderr))
        context.workspace.note_deployed(root)
        root = context.workspace.project()
        run = run_pipeline(context.runner, root, flags)
        runs.setdefault(PIPELINE_SCRIPT, []).append(parse_importtime(run.stderr))
        context.workspace.note_deployed(root)
    results = {}
    for script, step_runs in runs.items():
        packages = {name for _, per_package in step_runs for name in per_package}
        typical = {
            name: median(per_package.get(name, 0.0) for _, per_package in step_runs)
            for name in packages
        }
        top = sorted(typical.items(), key=lambda item: -item[1])[:TOP_PACKAGES]
        results[script] = {
            "import_seconds": median(total for total, _ in step_runs),
            "top_packages": [[name, seconds] for name, seconds in top],
        }
    return results


def run(context: Context) -> dict[str, Any]:
    progress("startup: --help of every script")
    help_seconds = _help(context)
    progress("startup: config errors")
    errors = _config_errors(context)
    return {"help": help_seconds, "config_errors": errors, "imports": _imports(context)}


def targets(results: dict[str, Any] | None) -> list[Target]:
    helps = [
        Target(f"{script} --help", get(results, "help", script, "seconds"), LIMIT_SECONDS, "s")
        for script in SCRIPTS
    ]
    errors = [
        Target(
            f"{script}, config error: {error}",
            get(results, "config_errors", error, script, "seconds"),
            LIMIT_SECONDS,
            "s",
        )
        for error in CONFIG_ERRORS
        for script in CONFIG_ERROR_SCRIPTS
    ]
    return helps + errors


def tables(results: dict[str, Any]) -> list[Table]:
    def seconds(*keys: str) -> str:
        value = get(results, *keys, "seconds")
        return "-" if value is None else f"{value:.2f}"

    answers = [
        [
            script,
            seconds("help", script),
            *(seconds("config_errors", error, script) for error in CONFIG_ERRORS),
        ]
        for script in SCRIPTS
    ]
    imports = [
        [
            script,
            f"{r['import_seconds']:.2f}",
            ", ".join(f"{name} {seconds:.2f}" for name, seconds in r["top_packages"]),
        ]
        for script, r in results["imports"].items()
    ]
    return [
        Table(
            "Seconds to answer, fresh process",
            ["script", "--help", *(f"config error: {error}" for error in CONFIG_ERRORS)],
            answers,
        ),
        Table(
            "Imports per step (python -X importtime)",
            ["script", "imports s", f"the {TOP_PACKAGES} packages that cost most, s"],
            imports,
        ),
    ]
