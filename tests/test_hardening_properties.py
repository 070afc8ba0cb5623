"""Property tests (hypothesis): the manifest diff, the patch secret scanner, `log --plain`, and
run records carrying the hardening fields."""

from __future__ import annotations

import string

from helpers.store import make_record
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_run.app.logview import plain
from repro_run.capture.secretscan import scan_patch
from repro_run.core.record import replace
from repro_run.fingerprint.diff import diff_encoded, diff_manifests
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import DirtyPath, ManifestEntry, SecretFinding
from repro_run.store.run_json import decode_record, encode_record

# --- manifest diff -------------------------------------------------------------------------
paths = st.lists(
    st.sampled_from(["a", "b", "d/x", "d/y", "d/e/z", "train/1", "train/2", "val/1", "é"]),
    unique=True,
    max_size=9,
)
entry_for = st.builds(
    lambda size, digest, executable: (size, digest, executable),
    st.integers(0, 3),
    st.sampled_from(["aa", "bb", "cc"]),
    st.booleans(),
)


@st.composite
def manifests(draw: st.DrawFn) -> list[ManifestEntry]:
    return [ManifestEntry(p, *draw(entry_for)) for p in draw(paths)]


@settings(max_examples=100)
@given(old=manifests(), new=manifests())
def test_a_diff_applied_to_the_old_manifest_gives_the_new_one(
    old: list[ManifestEntry], new: list[ManifestEntry]
) -> None:
    diff = diff_manifests(old, new)
    rebuilt = {e.path: e for e in old}
    for entry in diff.removed:
        del rebuilt[entry.path]
    for entry in diff.added:
        rebuilt[entry.path] = entry
    for before, after in diff.modified:
        assert rebuilt[before.path] == before and before != after
        rebuilt[after.path] = after
    assert rebuilt == {e.path: e for e in new}


@settings(max_examples=100)
@given(old=manifests(), new=manifests())
def test_the_diff_is_antisymmetric_and_counts_add_up(
    old: list[ManifestEntry], new: list[ManifestEntry]
) -> None:
    forward, backward = diff_manifests(old, new), diff_manifests(new, old)
    assert forward.added == backward.removed and forward.removed == backward.added
    assert [(b, a) for a, b in forward.modified] == list(backward.modified)
    assert diff_manifests(old, old).is_empty
    groups = forward.by_directory()
    assert sum(g.added for g in groups) == len(forward.added)
    assert sum(g.removed for g in groups) == len(forward.removed)
    assert sum(g.modified for g in groups) == len(forward.modified)
    assert diff_encoded(encode_manifest(old), encode_manifest(new)) == forward


# --- the patch scanner -----------------------------------------------------------------------
benign_line = st.text(string.ascii_lowercase + " _()=:,.0123456789", max_size=40)
SECRET = "Zr8KqP2xW9vB4nM7tY1c"  # 20 characters, ~4.3 bits each


def patch_of(path: str, added: list[str]) -> bytes:
    body = "".join(f"+{line}\n" for line in added)
    head = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
    return (head + f"@@ -0,0 +1,{len(added)} @@\n" + body).encode()


@settings(max_examples=100)
@given(lines=st.lists(benign_line, max_size=8), where=st.integers(0, 8), name=st.sampled_from(
    ["api_key", "API_TOKEN", "db_password", "clientSecret"]
))  # fmt: skip
def test_a_secret_assignment_is_found_at_its_line(lines: list[str], where: int, name: str) -> None:
    where = min(where, len(lines))
    added = [*lines[:where], f'{name} = "{SECRET}"', *lines[where:]]
    findings = scan_patch(patch_of("conf/settings.py", added))
    assert SecretFinding("conf/settings.py", where + 1, "assignment") in findings
    assert all(SECRET not in repr(f) for f in findings)  # never the value itself


@settings(max_examples=100)
@given(lines=st.lists(benign_line, max_size=8))
def test_ordinary_code_is_not_flagged(lines: list[str]) -> None:
    assert scan_patch(patch_of("train.py", lines)) == ()


@given(
    lines=st.lists(benign_line, max_size=5),
    secret=st.text(string.ascii_letters + string.digits + string.punctuation, min_size=8),
)
def test_a_known_secret_value_anywhere_in_an_added_line_is_found(
    lines: list[str], secret: str
) -> None:
    added = [*lines, f"x{secret}y"]
    findings = scan_patch(patch_of("a.txt", added), known=[secret])
    assert any(f.line == len(added) for f in findings)


# --- repro log --plain ---------------------------------------------------------------------
printable = st.text(string.ascii_letters + string.digits + " %|#.", max_size=30)


@given(lines=st.lists(printable, max_size=6))
def test_plain_leaves_text_without_control_bytes_alone(lines: list[str]) -> None:
    text = "\n".join(lines).encode()
    assert plain(text) == text


@given(frames=st.lists(printable, min_size=1, max_size=6).map(lambda f: sorted(f, key=len)))
def test_plain_keeps_the_last_frame_of_a_redrawn_line(frames: list[str]) -> None:
    """A progress bar redraws with \\r; frames that never shrink leave the last one."""
    line = "\r".join(frames).encode()
    assert plain(line + b"\nnext") == frames[-1].encode() + b"\nnext"


# --- records with the hardening fields -------------------------------------------------------
@settings(max_examples=60)
@given(
    flags=st.lists(st.sampled_from(["secret_in_patch", "tainted"]), unique=True),
    findings=st.lists(
        st.builds(SecretFinding, st.text(max_size=10), st.integers(1, 10**6), st.text(max_size=8)),
        max_size=3,
    ),
    tainted=st.lists(st.builds(DirtyPath, st.text(max_size=10), st.text(max_size=8)), max_size=3),
    interval=st.floats(min_value=0.001, max_value=1e6),
    ticks=st.none() | st.integers(0, 2**62),
)
def test_records_with_flags_findings_and_liveness_round_trip(
    flags: list[str],
    findings: list[SecretFinding],
    tainted: list[DirtyPath],
    interval: float,
    ticks: int | None,
) -> None:
    base = make_record("0000000000")
    record = replace(
        base,
        flags=tuple(flags),
        secret_findings=tuple(findings),
        tainted_paths=tuple(tainted),
        supervisor=replace(base.supervisor, heartbeat_interval=interval, start_ticks=ticks),
    )
    assert decode_record(encode_record(record), record.id) == record
