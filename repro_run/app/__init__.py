"""One module (or package) per verb: each orders the steps and returns frozen records; none prints.

`run/` (repro run and its parts), `rerun/` (the replay and its verdict), `transfer/` (export,
import), and a module for each view (`query`, `diff`, `report`, `stats`, `doctor`, ...).
Progress goes through the `Reporter` protocol (`progress.py`) that `ui` implements. Every verb
but `run` takes the `Workspace` (`workspace.py`: the repository and its store) that `cli` finds
once. `cli` imports each verb from its module, so `repro run` loads the run verb only.
"""
