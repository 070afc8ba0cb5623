"""Judging a rerun against its original (pure): metric curves, logs, outputs, the verdict."""
