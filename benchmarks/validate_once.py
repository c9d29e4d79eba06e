"""Validate the configured data once, in this fresh process, with Great Expectations or pandas.

Prints one JSON line: seconds to load the CSV, to import the engine and to validate (timed
inside the process, after the CSV is loaded), and each rule's verdict so the benchmark can
check that both engines agree.
"""

import argparse
import json
import sys
import time
from pathlib import Path

# The benchmark runs this file by path; mlops/ and benchmarks/ live in the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops.config import load_config  # noqa: E402
from mlops.data import load_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("gx", "pandas"), required=True)
    parser.add_argument("--config", required=True, help="config file of the project to validate")
    args = parser.parse_args()

    config = load_config(args.config)
    started = time.perf_counter()
    frame = load_dataset(config.data_path)
    loaded = time.perf_counter()
    if args.engine == "gx":
        import great_expectations  # noqa: F401 (timed apart from the validation itself)

        from benchmarks.pandas_rules import rule_key
        from mlops.validation import validate_frame

        imported = time.perf_counter()
        report = validate_frame(frame, config)
        verdicts = {
            rule_key(rule["type"], rule["kwargs"]): result["success"]
            for result in report.result["results"]
            for rule in [result["expectation_config"]]
        }
    else:
        from benchmarks.pandas_rules import evaluate_suite

        imported = time.perf_counter()
        suite = config.root / "gx" / "expectations" / f"{config.data.expectation_suite}.json"
        verdicts = evaluate_suite(frame, suite)
    validated = time.perf_counter()
    print(
        json.dumps(
            {
                "engine": args.engine,
                "rows": len(frame),
                "load_seconds": loaded - started,
                "import_seconds": imported - loaded,
                "validate_seconds": validated - imported,
                "success": all(verdicts.values()),
                "verdicts": verdicts,
            }
        )
    )


if __name__ == "__main__":
    main()
