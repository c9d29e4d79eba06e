"""Benchmarks of what the pipeline costs beyond the model itself (`make benchmark`)."""
