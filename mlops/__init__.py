"""Shared code behind the pipeline scripts: config, data, validation, modelling, gate, registry."""

import os

# No phoning home, no progress bars in CI logs and bounded waits, however the scripts are
# started. The Makefile and the workflows set the first three too; these are defaults for
# anyone running a script directly.
for _name, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # A tracking server that is down or hangs must fail a step in bounded time (MLflow's
    # defaults, 7 retries of 120 s with exponential backoff, add up to many minutes):
    # 3 attempts of at most 15 s with 1 s and 2 s pauses, under a minute in all.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}.items():
    os.environ.setdefault(_name, _value)
