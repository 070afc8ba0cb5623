"""Programs for tests of distributed runs: ranks started as torchrun starts them, and a fake
NVML for machines without a GPU.

This machine has no NVIDIA GPU or driver, so NVML is faked at its boundary, the one place a
fake is allowed: `FAKE_PYNVML` is a `pynvml` module answering from FAKE_NVML_* variables, put
on a rank's PYTHONPATH so that each node can be given another GPU.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

FAKE_PYNVML = '''\
"""A fake pynvml (no GPU here): the calls repro's hook makes, answered from FAKE_NVML_*."""
import os

nvmlLib = None  # the real module's handle on libnvidia-ml, set by nvmlInit
NVML_DEVICE_MIG_ENABLE = 1


class _Attributes:
    multiprocessorCount = int(os.environ.get("FAKE_NVML_SMS", "108"))


def nvmlInit():
    global nvmlLib
    nvmlLib = object()


def nvmlShutdown():
    pass


def nvmlDeviceGetHandleByIndex(index):
    return index


def nvmlSystemGetDriverVersion():
    return os.environ.get("FAKE_NVML_DRIVER", "550.54.15")


def nvmlDeviceGetName(handle):
    return os.environ["FAKE_NVML_GPU"]


def nvmlDeviceGetUUID(handle):
    return "GPU-%s-%d" % (os.environ.get("RANK"), handle)


def nvmlDeviceGetAttributes(handle):
    return _Attributes()


def nvmlDeviceGetMigMode(handle):
    return (0, 0)
'''

# One rank: a GPU monitor loads NVML itself (here the fake, where FAKE_NVML_GPU is set); a
# rank told to is killed by SIGKILL, which no handler sees.
RANK = """\
import os, signal, sys
if os.environ.get("FAKE_NVML_GPU"):
    import pynvml
    pynvml.nvmlInit()
if os.environ.get("RANK_ACTION") == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
sys.exit(int(os.environ.get("RANK_EXIT", "0")))
"""

# Starts ranks as torchrun does (RANK, LOCAL_RANK, WORLD_SIZE, GROUP_RANK), one per entry of
# the JSON spec in argv[1], with the fake NVML on their PYTHONPATH.
LAUNCHER = """\
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
ranks = []
for entry in spec["ranks"]:
    env = {**os.environ, **entry["env"]}
    env["PYTHONPATH"] = env.get("PYTHONPATH", "") + os.pathsep + os.path.join(here, "nvml")
    env.update(RANK=str(entry["rank"]), LOCAL_RANK=str(entry["local"]),
               GROUP_RANK=str(entry["node"]), WORLD_SIZE=str(spec["world"]))
    ranks.append(subprocess.Popen([sys.executable, os.path.join(here, "rank.py")], env=env))
codes = [p.wait() for p in ranks]
sys.exit(0 if all(c == 0 for c in codes) else 1)
"""

FILES = {"launch.py": LAUNCHER, "rank.py": RANK, "nvml/pynvml.py": FAKE_PYNVML}


def spec(
    nodes: Sequence[Mapping[str, str]],
    per_node: int = 2,
    *,
    world: int | None = None,
    rank_env: Mapping[int, Mapping[str, str]] | None = None,
) -> str:
    """The launcher's argument: `per_node` ranks on each node, with each node's variables
    and each rank's (`rank_env`)."""
    ranks = [
        {
            "rank": n * per_node + local,
            "local": local,
            "node": n,
            "env": {**env, **(rank_env or {}).get(n * per_node + local, {})},
        }
        for n, env in enumerate(nodes)
        for local in range(per_node)
    ]
    return json.dumps({"world": world or len(ranks), "ranks": ranks})
