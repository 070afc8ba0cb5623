"""Secret detection and masking: reliability scenarios A3, A4, A6, A7, A8, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from repro_run.core.constants import SECRET_MASK
from repro_run.core.redaction import (
    MIN_SECRET_VALUE_LEN,
    argv_secret_values,
    is_secret_name,
    looks_secret_value,
    mask_argv,
    redact_url,
    secret_values,
)

CANARY = "c4nary-Secret-9f3b2a71"
CANARY2 = "c4nary-Other-77d1e0aa"

SECRET_NAMES = [
    "HF_TOKEN",
    "NVIDIA_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "WANDB_API_KEY",
    "GITHUB_TOKEN",
    "DB_PASSWORD",
    "MYSQL_PWD",
    "SMTP_PASS",
    "OPENAI_APIKEY",
    "AWS_ACCESS_KEY_ID",
    "SSH_PRIVATE_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SENTRY_DSN",
    "SLACK_WEBHOOK_URL",
    "SESSION_COOKIE",
    "hubToken",
    "APIKey",
    "apikey",
    "--hub_token",
    "--api-key",
    "X-Amz-Signature",
    "TF_VAR_admin_pw",
    "SLURM_JOB_PW",
    "--pw",
    "HF_HUBTOKEN",
    "sig",
]
SAFE_NAMES = [
    "TOKENIZERS_PARALLELISM",
    "KEYBOARD_LAYOUT",
    "MONKEY",
    "PYTHONHASHSEED",
    "PWD",
    "OLDPWD",
    "PATH",
    "CUDA_VISIBLE_DEVICES",
    "BYPASS_CACHE",
    "PASSTHROUGH",
    "PYTHON_KEYRING_BACKEND",
    "--learning-rate",
    "max_tokens_per_batch",
    "SIGMA",
    "GPU_PWR_LIMIT",
]

SECRET_SHAPED = {
    "ghp": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "url": f"postgres://u:{CANARY}@h/db",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "slack": "xoxb-1234567890-abcdefghijkl",
    "hf": "hf_" + "a" * 34,
    "openai": "sk-proj-" + "Ab1" * 10,
    "gitlab": "glpat-" + "x1Y2z3" * 4,
    "url query": f"https://hub.example.com/api?token={CANARY}",
    "signed url": f"https://acct.blob.core.windows.net/w.whl?sv=2021-08-06&sig={CANARY}",
    "url token user": "https://Zq8Zk2LmN4CANrr1xP0@hf.co/x",
    "bearer": f"Authorization: Bearer {CANARY}",
}
ORDINARY_VALUES = [
    "/home/user/.cache/huggingface/hub",
    "/usr/local/cuda-12.4/lib64:/usr/lib/x86_64-linux-gnu",
    "s3://bucket/datasets/imagenet/train",
    "https://huggingface.co/meta-llama/Llama-3-8B",
    "git@github.com:o/r.git",
    "https://user@example.com/repo.git",
    "ssh://git@github.com/o/r.git",
    "https://example.com/search?q=tokenizers&page=2",
    "0.0001",
    "1e-5",
    "123456789012345678901234567890",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "72e1d429-f55f-408f-b23e-c878ccea73b6",
    "expandable_segments:True",
    "/data/task-abcdefghijklmnopqrstuvwxyz0123",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_detected(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", SAFE_NAMES)
def test_ordinary_names_are_not_secret(name: str) -> None:
    """Scenario A4: word-boundary matching, no over-redaction."""
    assert not is_secret_name(name)


@pytest.mark.parametrize("kind", sorted(SECRET_SHAPED))
def test_credential_shaped_values_are_detected(kind: str) -> None:
    """Scenario A3: value patterns under innocuous names."""
    assert looks_secret_value(SECRET_SHAPED[kind])


@pytest.mark.parametrize("value", ORDINARY_VALUES)
def test_ordinary_values_are_not_secret(value: str) -> None:
    assert not looks_secret_value(value)


def test_argv_secret_flags_are_masked() -> None:
    """Scenario A6: `--hub_token X` and `--password=X` are stored as `***`."""
    argv = ["python", "t.py", "--hub_token", CANARY, f"--password={CANARY2}", "--lr", "0.1"]
    masked = mask_argv(argv, ())
    assert masked == (
        "python",
        "t.py",
        "--hub_token",
        SECRET_MASK,
        f"--password={SECRET_MASK}",
        "--lr",
        "0.1",
    )
    assert not any(CANARY in a or CANARY2 in a for a in masked)


def test_argv_secret_switch_leaves_next_flag() -> None:
    assert mask_argv(["--use_auth_token", "--epochs", "3"], ()) == (
        "--use_auth_token",
        "--epochs",
        "3",
    )


def test_argv_hydra_override_with_secret_name_is_masked() -> None:
    assert mask_argv(["db.password=hunter22", "trainer.max_epochs=3"], ()) == (
        f"db.password={SECRET_MASK}",
        "trainer.max_epochs=3",
    )


def test_argv_known_secret_value_is_masked_anywhere() -> None:
    masked = mask_argv(["--data", f"s3://{CANARY}/x", CANARY], [CANARY])
    assert masked == ("--data", f"s3://{SECRET_MASK}/x", SECRET_MASK)


def test_argv_credential_shaped_value_is_masked() -> None:
    masked = mask_argv(["--db", SECRET_SHAPED["url"], f"--remote={SECRET_SHAPED['ghp']}"], ())
    assert masked == ("--db", SECRET_MASK, f"--remote={SECRET_MASK}")


def test_argv_is_not_changed_in_place() -> None:
    argv = ["--token", CANARY]
    mask_argv(argv, [CANARY])
    assert argv == ["--token", CANARY]


def test_remote_url_credentials_are_stripped() -> None:
    """Scenario A7."""
    assert (
        redact_url(f"https://x-access-token:{CANARY}@github.com/o/r.git")
        == "https://github.com/o/r.git"
    )
    assert redact_url("git@github.com:o/r.git") == "git@github.com:o/r.git"


@pytest.mark.parametrize(
    "url, redacted",
    [
        (
            "https://pypi.anaconda.org/t/acme-ci/acme/simple",
            "https://pypi.anaconda.org/acme/simple",
        ),
        (
            "https://conda.anaconda.org/t/acme-ci/acme/linux-64",
            "https://conda.anaconda.org/acme/linux-64",
        ),
        (
            "https://repo.example.com/api/repo/t/Zx81kQ/acme",
            "https://repo.example.com/api/repo/acme",
        ),
        (f"https://anaconda.example.com/t/{CANARY}", "https://anaconda.example.com"),
        ("https://github.com/t/repo.git", "https://github.com/t/repo.git"),
    ],
)
def test_an_anaconda_token_path_segment_is_removed_from_any_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_index_url_credentials_are_stripped() -> None:
    """Scenario A8 (pip config form); the package form is in test_packages."""
    assert redact_url(f"https://u:{CANARY}@idx/simple") == "https://idx/simple"


def test_redact_url_masks_secret_query_parameters() -> None:
    url = "https://s3.example.com/b/k.whl?X-Amz-Signature=abc&X-Amz-Date=1&token=z#sha256=00"
    assert (
        redact_url(url)
        == f"https://s3.example.com/b/k.whl?X-Amz-Signature={SECRET_MASK}&X-Amz-Date=1&token={SECRET_MASK}#sha256=00"
    )


def test_secret_values_come_from_secret_names_and_shapes() -> None:
    env = {
        "HF_TOKEN": CANARY,
        "DATABASE_URL": "postgres://user:hunter2secret@h/db",
        "WANDB_API_KEY": "short",
        "PATH": "/usr/bin",
        "TOKENIZERS_PARALLELISM": "false",
    }
    assert secret_values(env) == ("postgres://user:hunter2secret@h/db", CANARY, "hunter2secret")


# --- properties -------------------------------------------------------------------------------
_PART = st.from_regex(r"[A-Z][A-Z0-9]{0,7}", fullmatch=True)
_BENIGN_PART = st.sampled_from(
    ["CUDA", "NUM", "WORKERS", "HF", "MODE", "MAX", "LEN", "DATA", "CACHE", "DIR"]
)


@given(
    before=st.lists(_PART, max_size=3), after=st.lists(_PART, max_size=3), sep=st.sampled_from("_-")
)
def test_token_as_a_whole_part_is_secret(before: list[str], after: list[str], sep: str) -> None:
    name = sep.join([*before, "TOKEN", *after])
    assert is_secret_name(name)
    assert is_secret_name(name.lower())


@given(
    before=st.lists(_BENIGN_PART, max_size=3),
    after=st.lists(_BENIGN_PART, max_size=3),
    prefix=st.sampled_from(["", "DE", "RE", "UN"]),
    suffix=st.from_regex(r"[A-Z]{2,8}", fullmatch=True),
)
def test_token_inside_a_larger_word_is_not_secret(
    before: list[str], after: list[str], prefix: str, suffix: str
) -> None:
    assume(not is_secret_name(suffix))
    name = "_".join([*before, prefix + "TOKEN" + suffix, *after])
    assert not is_secret_name(name)


_SECRET = st.text(
    st.characters(codec="utf-8", exclude_characters="*"), min_size=MIN_SECRET_VALUE_LEN, max_size=20
)


@given(data=st.data(), secrets=st.lists(_SECRET, min_size=1, max_size=3))
def test_mask_argv_never_leaves_a_known_secret(data: st.DataObject, secrets: list[str]) -> None:
    element = st.one_of(
        st.text(max_size=12),
        st.sampled_from(["--token", "--password", "--lr", "-v", "x=", "--key="]),
        st.tuples(st.text(max_size=5), st.sampled_from(secrets), st.text(max_size=5)).map("".join),
    )
    argv = data.draw(st.lists(element, max_size=8))
    for arg in mask_argv(argv, secrets):
        assert not any(secret in arg for secret in secrets)


@given(
    parts=st.lists(st.from_regex(r"[a-z0-9_.]{1,12}", fullmatch=True), min_size=1, max_size=6),
    number=st.floats(),
)
def test_paths_and_numbers_never_look_secret(parts: list[str], number: float) -> None:
    assert not looks_secret_value("/" + "/".join(parts))
    assert not looks_secret_value(str(number))


@pytest.mark.parametrize(
    ("argv", "masked"),
    [
        (["--extra", f'{{"api_key": "{CANARY}"}}'], ["--extra", SECRET_MASK]),
        ([f"db={{password: {CANARY}}}"], [f"db={SECRET_MASK}"]),
        (["--url", f"https://h/x?access_token={CANARY}"], ["--url", SECRET_MASK]),
        (["-H", f"Authorization: Bearer {CANARY}"], ["-H", SECRET_MASK]),
        (["--pw", CANARY], ["--pw", SECRET_MASK]),
    ],
    ids=["json", "hydra dict", "url query", "bearer header", "pw flag"],
)
def test_secrets_inside_an_argument_are_masked_and_scrubbed(
    argv: list[str], masked: list[str]
) -> None:
    """A secret inside a longer argument (JSON, a Hydra dict, a URL, a header) is masked in
    the record, and the secret alone is scrubbed from the log: the child may print it."""
    assert list(mask_argv(["train.py", *argv], ())) == ["train.py", *masked]
    assert CANARY in argv_secret_values(["train.py", *argv], ())
