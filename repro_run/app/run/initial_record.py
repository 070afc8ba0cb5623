"""The `running` record: every facet captured while the command runs (none can change what it
sees), written once captured. Started by `app.run` from `run_process(on_start=...)`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from repro_run import __version__
from repro_run.app.run import safeguards
from repro_run.app.run.outputs import display
from repro_run.capture import gpu
from repro_run.core.record import replace
from repro_run.core.redaction import digest_mask, mask_argv
from repro_run.models import (
    RUNNING,
    CommandInfo,
    CondaRef,
    ConfigFile,
    PackageList,
    PackagesRef,
    Param,
    RunRecord,
    TreeRef,
    Unavailable,
    to_json_dict,
)
from repro_run.models.params import parse_params
from repro_run.store import Store, this_supervisor

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from repro_run.app.run.plan import Launch, Plan
    from repro_run.capture.conda import CondaCapture


def write_initial_record(
    store: Store, plan: Plan, launch: Launch, data: tuple[TreeRef, ...]
) -> RunRecord:
    """Capture every facet, then write the `running` record. Never raises for a facet."""
    from repro_run.capture import container, cuda, environ, packages, sources, system

    system_info = system.capture_system()
    captured_packages = packages.capture_packages(plan.interpreter)
    if not isinstance(captured_packages, Unavailable):
        listed, source = captured_packages
        captured_packages = sources.with_sources(listed, plan.environ, plan.root), source
    package_list = None if isinstance(captured_packages, Unavailable) else captured_packages[0]
    argv = mask_argv(plan.options.command, plan.secrets)
    record = RunRecord(
        id=launch.run_id,
        status=RUNNING,
        created=launch.started,
        repro_version=__version__,
        supervisor=this_supervisor(system_info.hostname, system_info.boot_id),
        code=plan.git_query.code(plan.status, launch.patch_object),  # asked with the dirty check
        command=CommandInfo(
            argv=argv,
            exec_argv=mask_argv(plan.command.exec_argv, plan.secrets),
            cwd=plan.cwd.relative_to(plan.root).as_posix(),
            executable=plan.command.executable,
            interpreter=plan.command.interpreter,
            interpreter_source=plan.command.interpreter_source,
            params=_params(plan.options.command, argv, store),
        ),
        determinism=launch.determinism,
        env=environ.capture_env(plan.environ),
        system=system_info,
        packages=_store_packages(store, captured_packages),
        gpu=gpu.capture_gpu(),
        # pip-installed cuDNN/NCCL wheels (what PyTorch loads) are found in the package list.
        cuda=cuda.capture_cuda_libraries(package_list),
        configs=tuple(
            ConfigFile(c.path, c.format, store.put_bytes(c.content), c.params) for c in plan.configs
        ),
        data=data,
        output_paths=tuple(display(p, plan.root) for p in plan.output_paths),
        started=launch.started,
        metrics_file=plan.options.metrics_file,
        rerun_of=plan.options.replay.of if plan.options.replay else None,
        rerun=plan.options.replay.info if plan.options.replay else None,
        group=plan.options.group,
        conda=_store_conda(store, _capture_conda(plan.environ)),
        container=container.capture_container(plan.environ),
        part=plan.joined.part if plan.joined else None,
    )
    record = safeguards.with_patch_findings(record, store.files_dir(record), plan.secrets)
    store.write_record(record, index=False)  # `list` indexes it
    return record


def _capture_conda(environ: Mapping[str, str]) -> CondaCapture | Unavailable | None:
    """The conda packages, where CONDA_PREFIX names an environment: the module (and its cache's)
    is imported only then, off the path of every other run."""
    if not environ.get("CONDA_PREFIX"):
        return None
    from repro_run.capture.conda import capture_conda

    return capture_conda(environ)


def _params(typed: Sequence[str], masked: Sequence[str], store: Store) -> tuple[Param, ...]:
    """The parameters among the arguments. A value `mask_argv` hid (a secret name's, a
    credential's) is kept as a keyed digest, so that `diff` still sees it change; a parameter
    whose very name was masked is left out (the argv says `***`)."""
    params = []
    for found in parse_params(typed):
        param, first = found.param, found.indices[0]
        if not masked[first].startswith(param.given):
            continue
        if any(masked[i] != typed[i] for i in found.indices) and param.value is not None:
            param = replace(param, value=digest_mask(param.value, store.digest_key()), parsed=None)
        params.append(param)
    return tuple(params)


def _store_conda(
    store: Store, captured: CondaCapture | Unavailable | None
) -> CondaRef | Unavailable | None:
    if captured is None or isinstance(captured, Unavailable):
        return captured
    digest = store.put_bytes(captured.document.encode())
    return CondaRef(captured.prefix, captured.count, digest, captured.source)


def _store_packages(
    store: Store, captured: tuple[PackageList, str] | Unavailable
) -> PackagesRef | Unavailable:
    if isinstance(captured, Unavailable):
        return captured
    package_list, source = captured
    blob = json.dumps(to_json_dict(package_list), sort_keys=True).encode()
    return PackagesRef(
        package_list.interpreter,
        package_list.python_version,
        len(package_list.packages),
        store.put_bytes(blob),
        source,
    )
