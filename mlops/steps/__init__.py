"""The pipeline's steps, one module each: config in, a small result out.

validate → train → evaluate → deploy (and rollback). The top-level scripts call one step
each; `run_pipeline.py` calls them in order in one process (mlops/pipeline.py), handing the
data already read and the model already trained to the next step. A step raises
`PipelineError` (exit 2) or `Refused` (exit 3) for what a user can fix, writes its results to
outputs/ and reports through the `mlops` logger; it never exits or prints by itself.
Import a step's module only when it runs: each pays for the libraries it needs.
"""
