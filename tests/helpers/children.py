"""Child programs for tests of process supervision."""

from __future__ import annotations

# Counts the SIGINTs it gets (printing "ready" first), then exits 130 saying how many.
SIGINT_CHILD = """
import signal, sys, time
got = []
signal.signal(signal.SIGINT, lambda *_: got.append(1))
print("ready", flush=True)
while not got:
    time.sleep(0.01)
time.sleep(0.3)  # a second forwarded SIGINT would land here
print(f"stopping after {len(got)} SIGINT", flush=True)
sys.exit(130)
"""
