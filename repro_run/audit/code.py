"""Static scan of the project's Python files for settings that defeat reproducibility.

`ast` only: the code is parsed, never imported or run. Each hit is `path:line: source`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from repro_run.core.record import Record
from repro_run.models import Finding

RANDOMNESS = "https://docs.pytorch.org/docs/stable/notes/randomness.html"


class Hit(Record):
    code: str
    where: str  # "train.py:12: torch.backends.cudnn.benchmark = True"


# code -> (severity, factor, title, fix)
RULES = {
    "cudnn-benchmark": (
        "high",
        "implementation",
        "cuDNN autotuning is on: convolution algorithms are picked per run",
        "remove `cudnn.benchmark = True` (repro's hook sets it False, but code after import "
        f"wins); see {RANDOMNESS}",
    ),
    "determinism-off": (
        "high",
        "implementation",
        "the code turns deterministic algorithms off",
        "remove the call or pass True; `repro run --no-deterministic` is the switch for that",
    ),
    "tf32-on": (
        "medium",
        "implementation",
        "TF32 is on: float32 matmuls and convolutions run at reduced precision on Ampere+",
        "set `torch.backends.cuda.matmul.allow_tf32 = False` and "
        "`torch.backends.cudnn.allow_tf32 = False` (or precision 'highest') when bits matter; "
        "see https://docs.pytorch.org/docs/stable/notes/cuda.html#tf32-on-ampere",
    ),
    "dataloader-unseeded": (
        "low",
        "algorithmic",
        "a DataLoader without generator= or worker_init_fn=",
        "pass `generator=torch.Generator().manual_seed(repro_run.current_seed())` and "
        f"`worker_init_fn=repro_run.worker_init_fn`; see {RANDOMNESS}#dataloader",
    ),
    "unseeded-generator": (
        "medium",
        "algorithmic",
        "a random generator created without a seed: no global seed reaches it",
        "pass a seed: `np.random.default_rng(repro_run.current_seed())` "
        "(NEP 19: the global seed does not seed new Generators)",
    ),
}
_UNSEEDED_CONSTRUCTORS = {"default_rng", "RandomState", "Random", "SeedSequence"}
_Hitter = Callable[[str, ast.AST], None]


def scan_source(path: str, text: str) -> list[Hit]:
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError):
        return []  # not our business: the script would not run either
    lines = text.splitlines()
    hits: list[Hit] = []

    def hit(code: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        hits.append(Hit(code, f"{path}:{line}: {source}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _check_assignment(target, node.value, node, hit)
        elif isinstance(node, ast.Call):
            _check_call(node, hit)
    return hits


def _check_assignment(target: ast.AST, value: ast.AST, node: ast.AST, hit: _Hitter) -> None:
    name = _dotted(target)
    constant = value.value if isinstance(value, ast.Constant) else None
    if name.endswith("cudnn.benchmark") and constant is True:
        hit("cudnn-benchmark", node)
    elif name.endswith("cudnn.deterministic") and constant is False:
        hit("determinism-off", node)
    elif name.endswith("allow_tf32") and constant is True:
        hit("tf32-on", node)


def _check_call(node: ast.Call, hit: _Hitter) -> None:
    name = _dotted(node.func)
    last = name.rsplit(".", 1)[-1]
    keywords = {k.arg for k in node.keywords}
    first = node.args[0] if node.args else None
    first_value = first.value if isinstance(first, ast.Constant) else None
    if last == "use_deterministic_algorithms" and first_value is False:
        hit("determinism-off", node)
    elif (last == "set_float32_matmul_precision" and first_value in ("high", "medium")) or (
        last == "enable_tensor_float_32_execution" and first_value is True
    ):
        hit("tf32-on", node)
    elif last == "DataLoader" and None not in keywords:  # `**kwargs` may carry them
        if "generator" not in keywords or "worker_init_fn" not in keywords:
            hit("dataloader-unseeded", node)
    elif last in _UNSEEDED_CONSTRUCTORS and not node.args and not node.keywords:
        hit("unseeded-generator", node)


def findings(hits: Iterable[Hit], limit: int = 10) -> list[Finding]:
    """One finding per rule, with up to `limit` places as evidence."""
    by_code: dict[str, list[str]] = {}
    for h in hits:
        by_code.setdefault(h.code, []).append(h.where)
    result = []
    for code, places in by_code.items():
        severity, factor, title, fix = RULES[code]
        evidence = places[:limit] + (
            [f"... {len(places) - limit} more"] if len(places) > limit else []
        )
        result.append(Finding(code, severity, factor, title, tuple(evidence), fix))
    return result


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""
