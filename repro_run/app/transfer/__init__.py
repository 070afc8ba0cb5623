"""Runs moved between stores: `repro export` (with data) and `repro import` of a bundle."""
