"""Shared code behind the pipeline scripts: config, data, validation, modelling, gate, registry."""

import os

# No phoning home and no progress bars in CI logs, however the scripts are started. The Makefile
# and the workflows set the same variables; these are defaults for anyone running a script
# directly.
for _name, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}.items():
    os.environ.setdefault(_name, _value)
