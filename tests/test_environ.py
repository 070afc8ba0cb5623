"""Environment capture: allow-list, deny beats allow, value shapes (reliability scenarios A1-A4)."""

from __future__ import annotations

import json
import os

from repro_run.capture.environ import capture_env
from repro_run.models import to_json_dict

CANARY = "c4nary-Secret-9f3b2a71"


def _stored(environ: dict[str, str]) -> str:
    return json.dumps(to_json_dict(capture_env(environ)))


def test_allow_listed_values_kept_others_names_only() -> None:
    """Scenario A1."""
    env = {"CUDA_VISIBLE_DEVICES": "0", "FOO": "1", "AWS_SECRET_ACCESS_KEY": CANARY}
    captured = capture_env(env)
    assert captured.values == {"CUDA_VISIBLE_DEVICES": "0"}
    assert captured.names_only == ("FOO",)
    assert captured.redacted == ("AWS_SECRET_ACCESS_KEY",)
    assert CANARY not in _stored(env)


def test_secret_name_under_allowed_prefix_is_redacted() -> None:
    """Scenario A2: deny beats allow."""
    env = {"HF_TOKEN": CANARY, "NVIDIA_API_KEY": CANARY, "HF_HOME": "/cache/hf"}
    captured = capture_env(env)
    assert captured.redacted == ("HF_TOKEN", "NVIDIA_API_KEY")
    assert captured.values == {"HF_HOME": "/cache/hf"}
    assert CANARY not in _stored(env)


def test_secret_shaped_values_are_redacted_under_any_name() -> None:
    """Scenario A3, including an allow-listed name holding a credential URL."""
    env = {
        "MY_REMOTE": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "AWS_ID": "AKIAIOSFODNN7EXAMPLE",
        "DATABASE": f"postgres://u:{CANARY}@h/db",
        "SOMETHING": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "CERT_DATA": f"-----BEGIN PRIVATE KEY-----\n{CANARY}\n-----END PRIVATE KEY-----",
        "TORCH_HUB_URL": f"https://u:{CANARY}@hub.example.com/",
    }
    captured = capture_env(env)
    assert captured.redacted == tuple(sorted(env))
    assert captured.values == {}
    assert CANARY not in _stored(env)


def test_word_boundary_names_keep_their_values() -> None:
    """Scenario A4: no over-redaction."""
    env = {
        "TOKENIZERS_PARALLELISM": "false",
        "KEYBOARD_LAYOUT": "us",
        "MONKEY": "1",
        "PYTHONHASHSEED": "0",
    }
    captured = capture_env(env)
    assert captured.values == {"TOKENIZERS_PARALLELISM": "false", "PYTHONHASHSEED": "0"}
    assert captured.names_only == ("KEYBOARD_LAYOUT", "MONKEY")
    assert captured.redacted == ()


def test_distributed_and_loader_variables_are_recorded() -> None:
    env = {
        "MASTER_ADDR": "10.0.0.1",
        "WORLD_SIZE": "8",
        "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
        "LANG": "C.UTF-8",
    }
    assert capture_env(env).values == env


def test_home_and_pwd_are_names_only() -> None:
    captured = capture_env({"HOME": "/home/alice", "PWD": "/home/alice/project"})
    assert captured.names_only == ("HOME", "PWD")
    assert captured.values == {}


def test_outputs_are_sorted() -> None:
    env = {
        "Z_VAR": "1",
        "OMP_NUM_THREADS": "4",
        "A_VAR": "1",
        "CUDA_HOME": "/cuda",
        "ZZ_TOKEN": "x",
        "A_TOKEN": "y",
    }
    captured = capture_env(env)
    assert list(captured.values) == ["CUDA_HOME", "OMP_NUM_THREADS"]
    assert captured.names_only == ("A_VAR", "Z_VAR")
    assert captured.redacted == ("A_TOKEN", "ZZ_TOKEN")


def test_real_environment_is_partitioned() -> None:
    captured = capture_env(os.environ)
    names = set(captured.values) | set(captured.names_only) | set(captured.redacted)
    assert names == set(os.environ)
