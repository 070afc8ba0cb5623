"""The command line: `main.py` is the console script (the fast `repro run` path, and the one
place errors become messages and exit codes); `commands.py` gathers the click commands of
`runs` (run, rerun), `views` (list, show, log, diff, stats, report) and `care` (doctor,
fingerprint, fsck, gc, export, import), each of which parses, calls one `app` verb and renders
with `ui`; `launch.py` runs `repro run` and exits as the command did. `app` is imported inside
each command so `repro --help` stays fast.
"""
