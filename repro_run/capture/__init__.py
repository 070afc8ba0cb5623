"""Capture facets: each module records one aspect of the run's world, never raising for an optional one."""
