"""Holds the `sitecustomize` that `repro run` puts first on a Python child's PYTHONPATH."""
