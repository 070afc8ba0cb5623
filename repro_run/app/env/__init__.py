"""`repro rerun --recreate-env`: the recorded environment rebuilt with uv, cached, checked."""
