"""validate → train → evaluate → gate → deploy in one process (`make pipeline`).

The same step functions the four scripts call, in order: the CSV is read once, and the split
and the fitted model are handed to the next step instead of being read again. Stops at the
first failure with the exit code and message that step's script would give.
"""

import logging

from mlops.config import Config
from mlops.data import load_dataset

log = logging.getLogger(__name__)


def run_pipeline(config: Config) -> int:
    """Run every step against the configured project; a rejected model is not deployed
    (exit 0). Returns the exit code; `PipelineError` propagates as from the step scripts."""
    from mlops.steps.validate import validate

    frame = load_dataset(config.data_path, config.data.max_file_mb)
    log.info("== validate")
    validated = validate(config, frame=frame)
    if validated.exit_code:
        return validated.exit_code

    from mlops.steps.train import train

    log.info("== train")
    trained = train(config, frame)

    from mlops.steps.evaluate import evaluate

    log.info("== evaluate")
    evaluate(config, trained=trained)

    from mlops.steps.deploy import deploy

    log.info("== deploy")
    deploy(config, skip_if_rejected=True, split=trained.split)
    return 0
