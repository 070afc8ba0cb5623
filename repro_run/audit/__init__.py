"""`repro doctor`'s checks: pure functions from what was read (files, records) to findings."""
