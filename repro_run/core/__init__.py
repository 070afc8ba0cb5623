"""Leaves every other package imports: stdlib only (record base, errors, constants, host,
redaction, paths, toml, humanize)."""
