"""`repro rerun`: what a replay fixes (`replay*.py`), environment drift, the launch through
`app.run`, and the verdict (`judge.py`, `causes.py`)."""
