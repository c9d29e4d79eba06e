"""Export the champion as a deployable bundle: MLflow model directory, pinned requirements and
a Dockerfile (outputs/bundle/), after checking its files are the ones that were evaluated.

`make publish-image` builds and pushes the bundle's image (needs a Docker engine).
Exit codes: 0 exported, 2 unusable config, model or tracking server, 3 refused.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    args = parse_args(script_parser(__doc__))

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.bundle import export_bundle

    export_bundle(config)
    return 0


if __name__ == "__main__":
    run_script(main)
