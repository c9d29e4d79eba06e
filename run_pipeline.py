"""Run validate → train → evaluate → gate → deploy in one process, as `make pipeline` does.

Each step does what its own script does (validate_data.py, train_model.py, evaluate_model.py,
deploy_model.py --skip-if-rejected), reading the CSV once. Stops at the first failing step.
Exit codes: 0 done (deployed, or rejected by the gate), 1 the data failed validation,
2 the data, config or tracking server was unusable, 3 the deploy was refused.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    args = parse_args(script_parser(__doc__))

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.pipeline import run_pipeline

    return run_pipeline(config)


if __name__ == "__main__":
    run_script(main)
