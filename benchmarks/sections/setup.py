"""Setup: requirements.txt into a fresh virtualenv with pip and with uv."""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import Table
from benchmarks.runner import REPO, VENV_BIN, Context, Target, get, median, progress

NAME = "setup"
TITLE = "Setup"
ABOUT = (
    "`requirements.txt` (pinned, with hashes) into a fresh virtualenv made from the interpreter "
    "`.venv` was made from, with pip (the version `ensurepip` bundles) and with uv (what "
    "`make install` uses), first with an empty cache (cold: every wheel is downloaded) and then "
    "with the cache that install filled (warm). The machine's index settings are kept."
)
PEAK_MEMORY = True
REPEATED = True
INSTALL_TIMEOUT = 3600.0
STATES = ("cold", "warm")


def _installers(requirements: Path) -> dict[str, tuple[str, Callable[[Path], list[str | Path]]]]:
    """Installer -> (its cache directory variable, the install command for a venv)."""
    return {
        "pip": (
            "PIP_CACHE_DIR",
            lambda venv: [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "--require-hashes",
                "-r",
                requirements,
            ],
        ),
        "uv": (
            "UV_CACHE_DIR",
            lambda venv: [
                VENV_BIN / "uv",
                "pip",
                "install",
                "--require-hashes",
                "-r",
                requirements,
                "--python",
                venv / "bin" / "python",
            ],
        ),
    }


def run(context: Context) -> dict[str, Any]:
    scratch = context.scratch
    # The interpreter .venv was made from, as `make install` makes a venv (python -m venv).
    base_python = sys._base_executable  # noqa: SLF001
    # The machine's index settings (pip.conf, PIP_*/UV_* variables) are kept; dropped: a
    # setting that would disable the cache under test, and what the Makefile unexports.
    dropped = ("PIP_NO_CACHE_DIR", "UV_NO_CACHE", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    results: dict[str, Any] = {}
    for tool, (cache_variable, command) in _installers(REPO / "requirements.txt").items():
        runs = []
        for repeat in range(context.repeats):
            cache = scratch / f"cache-{tool}-{repeat}"
            cache.mkdir()
            timings = {}
            for state in STATES:
                progress(f"setup, {tool}, {state} cache: run {repeat + 1} of {context.repeats}")
                venv = scratch / f"venv-{tool}-{repeat}-{state}"
                subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
                install = context.runner.run(
                    command(venv), scratch, {**env, cache_variable: str(cache)}, INSTALL_TIMEOUT
                )
                timings[state] = {"seconds": install.seconds, "peak_mb": install.peak_mb}
                shutil.rmtree(venv)  # a full venv is ~1 GB; only the cache carries over
            shutil.rmtree(cache)
            runs.append(timings)
        results[tool] = {
            state: {
                "seconds": median(r[state]["seconds"] for r in runs),
                "peak_mb": median(r[state]["peak_mb"] for r in runs),
            }
            for state in STATES
        } | {"runs": runs}
    # The pip a fresh venv gets is the one ensurepip bundles.
    results["pip_version"] = subprocess.run(
        [base_python, "-c", "import ensurepip; print(ensurepip.version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    results["uv_version"] = subprocess.run(
        [VENV_BIN / "uv", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    return results


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            "warm-cache install with uv (make install)",
            get(results, "uv", "warm", "seconds"),
            15.0,
            "s",
        )
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    versions = {"pip": results["pip_version"], "uv": results["uv_version"]}
    rows = [
        [
            f"{tool} {versions[tool]}",
            *(f"{results[tool][state]['seconds']:.1f}" for state in STATES),
            *(f"{results[tool][state]['peak_mb']:.0f}" for state in STATES),
        ]
        for tool in versions
    ]
    return [
        Table(
            "Seconds and peak MB of the install",
            ["installer", "cold s", "warm s", "cold MB", "warm MB"],
            rows,
        )
    ]
