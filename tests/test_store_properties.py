"""Property tests: ID prefix resolution, and run.json round trips of odd field values."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers.store import make_record
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_run.core.errors import AmbiguousRunIdError
from repro_run.core.record import replace
from repro_run.models import CommandInfo, ConfigFile, EnvCapture
from repro_run.store import Store
from repro_run.store.ids import ALPHABET, ID_LENGTH, LEGACY_ID_LENGTH
from repro_run.store.resolve import abbreviations
from repro_run.store.run_json import decode_record, encode_record

# Today's IDs and the first format's, which stay valid (store/ids.py).
run_ids = st.text(alphabet=ALPHABET, min_size=ID_LENGTH, max_size=ID_LENGTH) | st.text(
    alphabet=ALPHABET, min_size=LEGACY_ID_LENGTH, max_size=LEGACY_ID_LENGTH
)
# Shared leading characters make ambiguous prefixes common rather than rare; the last head is
# a whole legacy ID, so longer IDs often start with one.
clustered_ids = st.sets(
    st.builds(
        lambda head, tail: (head + tail)[: len(tail)],
        st.sampled_from(["", "00", "00a", "00a00000zz"]),
        run_ids,
    ),
    min_size=1,
    max_size=8,
)
# Any encodable character, plus the lone surrogates os.fsdecode makes of non-UTF-8 file names
# (U+DC80..U+DCFF). High surrogates are left out: the OS never produces them, and a high+low
# pair would come back from JSON joined into one character.
odd_text = st.text(st.characters(codec="utf-8") | st.integers(0xDC80, 0xDCFF).map(chr), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=10,
)


def _store_of(root: Path, ids: set[str]) -> Store:
    """A store at `root` holding a run of each of `ids`."""
    store = Store.open(root)
    for run_id in ids:
        store.run_dir(run_id).mkdir()
        # Resolution reads run.json raw: the fields it shows are enough here.
        document = {"id": run_id, "created": "", "command": {"argv": ["run", run_id]}}
        (store.run_dir(run_id) / "run.json").write_text(json.dumps(document))
    return store


@settings(max_examples=40, deadline=None)
@given(ids=clustered_ids)
def test_unique_prefix_resolves_and_shared_prefix_is_ambiguous(ids: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store_of(Path(tmp), ids)
        for run_id in ids:
            for length in range(1, len(run_id) + 1):
                prefix = run_id[:length]
                sharing = [other for other in ids if other.startswith(prefix)]
                if prefix in ids:  # a whole ID names its run, longer ones starting with it or not
                    assert store.resolve(prefix.upper()) == prefix
                elif len(sharing) == 1:
                    assert store.resolve(prefix.upper()) == run_id
                else:
                    with pytest.raises(AmbiguousRunIdError) as caught:
                        store.resolve(prefix)
                    assert all(other in str(caught.value) for other in sharing)


@settings(max_examples=40, deadline=None)
@given(ids=clustered_ids, shortest=st.integers(1, ID_LENGTH))
def test_each_abbreviation_resolves_to_its_run(ids: set[str], shortest: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store_of(Path(tmp), ids)
        for run_id, short in abbreviations(ids, shortest).items():
            assert run_id.startswith(short) and len(short) >= min(shortest, len(run_id))
            assert store.resolve(short) == run_id


@settings(max_examples=60, deadline=None)
@given(
    argv=st.lists(odd_text, min_size=1, max_size=4),
    cwd=odd_text,
    env=st.dictionaries(odd_text, odd_text, max_size=3),
    params=st.dictionaries(odd_text, json_values, max_size=4),
    problems=st.lists(odd_text, max_size=3),
    seed=st.integers(min_value=0, max_value=2**128),
)
def test_record_json_round_trip(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    params: dict[str, Any],
    problems: list[str],
    seed: int,
) -> None:
    base = make_record("0000000000", seed=seed)
    record = replace(
        base,
        command=CommandInfo(tuple(argv), tuple(argv), cwd, "/usr/bin/python3", None),
        env=EnvCapture(values=env, names_only=tuple(env), redacted=()),
        configs=(ConfigFile(path=cwd, format="yaml", object="0" * 64, params=params),),
        problems=tuple(problems),
    )
    assert decode_record(encode_record(record), record.id) == record
