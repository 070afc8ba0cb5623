"""Metrics a run logged: read from the REPRO_METRICS file or a --metrics-file, stored canonically."""
