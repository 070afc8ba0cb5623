"""A real one-host Slurm cluster for the tests: munged, slurmctld and slurmd in a temp dir.

Debian's `slurm-wlm` and `munge` are system packages: `.ci/run` installs them and sets
REPRO_TEST_REQUIRE_SLURM=1, so in CI their absence fails the tests that need them; elsewhere
those tests are skipped with the command that installs them. The daemons run as root (CI does),
each with its own socket, ports, state and spool directories, so nothing of a system Slurm or
munge is touched; `SLURM_CONF` in `env` points every client (srun, sbatch, scancel) at it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ENV_REQUIRE = "REPRO_TEST_REQUIRE_SLURM"
DAEMONS = ("munged", "slurmctld", "slurmd", "srun", "sbatch", "scancel", "sinfo", "squeue")
KILL_WAIT_S = 10  # scancel and time limits: SIGTERM, then SIGKILL this much later
_START_TIMEOUT_S = 60


def require_slurm() -> None:
    """Skip (or, with REPRO_TEST_REQUIRE_SLURM=1, fail) unless Slurm and munge can run here."""
    missing = [name for name in DAEMONS if _which(name) is None]
    reason = None
    if missing:
        reason = f"{', '.join(missing)} not installed (Debian: apt-get install slurm-wlm munge)"
    elif os.geteuid() != 0:
        reason = "the one-host Slurm cluster runs its daemons as root"
    if reason is None:
        return
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"{reason}, and {ENV_REQUIRE}=1 (.ci/run installs Slurm)")
    pytest.skip(reason)


def _which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SlurmCluster:
    """munged + slurmctld + slurmd of one node (this host, its CPUs), in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.node = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.env = {"SLURM_CONF": str(self.conf)}
        self._daemons: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for name in ("munge", "state", "spool", "log"):
            (self.root / name).mkdir(mode=0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        munge = self.root / "munge"
        self._spawn(
            _which("munged") or "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={munge / 'socket'}",
            f"--pid-file={munge / 'pid'}",
            f"--seed-file={munge / 'seed'}",
            f"--log-file={munge / 'log'}",
        )
        self._wait_for(lambda: (munge / "socket").exists(), "munged's socket")
        self.conf.write_text(self._config(munge / "socket"))
        self._spawn(_which("slurmctld") or "slurmctld", "-D", "-i")
        self._spawn(_which("slurmd") or "slurmd", "-D")
        self._wait_for(self._node_idle, f"node {self.node} idle in sinfo")

    def _config(self, munge_socket: Path) -> str:
        cpus = os.cpu_count() or 1
        log = self.root / "log"
        return f"""\
ClusterName=repro-test
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={self.root / "state"}
SlurmdSpoolDir={self.root / "spool"}
SlurmctldPidFile={self.root / "slurmctld.pid"}
SlurmdPidFile={self.root / "slurmd.pid"}
SlurmctldLogFile={log / "slurmctld.log"}
SlurmdLogFile={log / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait={KILL_WAIT_S}
OverTimeLimit=0
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""

    def _spawn(self, *argv: str) -> None:
        log = open(self.root / "log" / f"{Path(argv[0]).name}.out", "wb")  # noqa: SIM115
        with log:
            proc = subprocess.Popen(
                argv,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._daemons.append(proc)

    def _node_idle(self) -> bool:
        done = self.run("sinfo", "--noheader", "--format=%T", check=False)
        return done.returncode == 0 and done.stdout.strip() == "idle"

    def _wait_for(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not ready():
            dead = [p.args for p in self._daemons if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"Slurm did not start ({what}; exited: {dead}):\n{self.logs()}")
            time.sleep(0.2)

    def run(
        self, *argv: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """A Slurm client command (`sinfo`, `squeue`, `scancel` ...) against this cluster."""
        done = subprocess.run(
            argv,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, f"{argv}: {done.stderr}"
        return done

    def wait_idle(self, timeout: float = 60) -> None:
        """Until no job is left in the queue (a test's jobs ended, their steps cleaned up)."""
        deadline = time.monotonic() + timeout
        while self.run("squeue", "--noheader", check=False).stdout.strip():
            assert time.monotonic() < deadline, self.run("squeue", check=False).stdout
            time.sleep(0.2)

    def logs(self) -> str:
        parts = []
        for path in [*sorted((self.root / "log").iterdir()), self.root / "munge" / "log"]:
            if path.is_file():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.conf.exists():  # slurmctld was started
            self.run("scancel", "--full", "--user=root", check=False)
        for proc in reversed(self._daemons):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
