"""`repro run`: preflight, launch and finalise (`run.py`), the running record captured while the
command runs, outputs, metrics, the safeguards around a run, `--repeat` groups."""
