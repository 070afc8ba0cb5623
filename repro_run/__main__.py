"""`python -m repro_run` is the `repro` command."""

from repro_run.cli.main import main

if __name__ == "__main__":
    main()
