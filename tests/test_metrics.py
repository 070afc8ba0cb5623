"""The metrics protocol: REPRO_METRICS and `repro_run.log_metrics`, `--metrics-file` readers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.metrics.read import parse_csv, parse_json, parse_jsonl, read_metrics
from repro_run.metrics.series import (
    Series,
    decode_series,
    encode_series,
    final_values,
    is_timing_key,
)


def test_jsonl_rows_give_one_curve_per_numeric_key_without_timings() -> None:
    text = (
        '{"step": 1, "loss": 0.5, "acc": 1, "epoch_time": 3.1, "tag": "x", "ok": true}\n'
        '{"step": 2, "loss": 0.25, "acc": 0.5, "_timestamp": 1700000000}\n'
    )
    series, problems = parse_jsonl(text.splitlines(True), "m.jsonl")
    assert series == {"loss": [(1, 0.5), (2, 0.25)], "acc": [(1, 1.0), (2, 0.5)]}
    assert problems == []


def test_a_last_jsonl_line_cut_short_is_skipped_silently_others_are_reported() -> None:
    series, problems = parse_jsonl(['{"loss": 1}\n', '{"loss": 2}\n', '{"loss": '], "m.jsonl")
    assert series == {"loss": [(None, 1.0), (None, 2.0)]} and problems == []
    _, problems = parse_jsonl(["nope\n", '{"loss": 2}\n'], "m.jsonl")
    assert problems == ["m.jsonl: 1 line(s) are not JSON objects; skipped"]


def test_csv_columns_are_curves_and_the_step_column_indexes_them() -> None:
    series = parse_csv(["step,loss,wall_time,note\n", "1,0.5,10.2,a\n", "2,0.25,11.0,\n"])
    assert series == {"loss": [(1, 0.5), (2, 0.25)]}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([{"step": 1, "loss": 2}], {"loss": [(1, 2.0)]}),
        ({"loss": [3, 2, 1]}, {"loss": [(None, 3.0), (None, 2.0), (None, 1.0)]}),
        ({"eval": {"acc": 0.9}, "loss": 0.1}, {"eval.acc": [(None, 0.9)], "loss": [(None, 0.1)]}),
    ],
)
def test_json_documents_of_common_shapes(document: object, expected: object) -> None:
    assert parse_json(json.dumps(document), "m.json") == (expected, [])


def test_timing_keys_are_recognised() -> None:
    assert all(map(is_timing_key, ["time", "epoch_time", "elapsed_s", "samples/s", "_runtime"]))
    assert not any(map(is_timing_key, ["loss", "accuracy", "timesteps_total", "lr"]))


def test_the_canonical_encoding_round_trips_nan_and_keeps_final_values() -> None:
    series: Series = {"loss": [(1, 0.5), (2, float("nan"))], "acc": [(None, 1.0)]}
    back = decode_series(encode_series(series))
    assert back["acc"] == [(None, 1.0)] and math.isnan(back["loss"][1][1])
    assert final_values({"loss": [(1, 0.5), (2, 0.25)]}) == {"loss": 0.25}


def test_an_integer_beyond_a_double_is_an_infinite_value() -> None:
    """`1` and 400 zeros: as large as a float gets; never an error that loses the run."""
    series, problems = parse_jsonl(['{"step": 0, "loss": 1' + "0" * 400 + "}\n"], "m.jsonl")
    assert (series, problems) == ({"loss": [(0, math.inf)]}, [])
    assert parse_json('{"loss": [-1' + "0" * 400 + ", 2]}", "m.json")[0] == {
        "loss": [(None, -math.inf), (None, 2.0)]
    }


def test_a_missing_metrics_file_is_a_problem_not_an_error(tmp_path: Path) -> None:
    assert read_metrics(tmp_path / "none.csv", "csv") == (
        {},
        [f"metrics file not found after the run: {tmp_path / 'none.csv'}"],
    )


def test_log_metrics_is_a_no_op_outside_repro(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import repro_run; repro_run.log_metrics(step=1, loss=0.5)"],
        cwd=tmp_path,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0 and list(tmp_path.iterdir()) == []


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo(
        {
            "logs.py": (
                "import os, repro_run\n"
                "print(os.environ['REPRO_METRICS'])\n"
                "for step in range(3):\n"
                "    repro_run.log_metrics(step=step, loss=1.0 / (step + 1), acc=step / 4)\n"
            ),
            "writes.py": (
                "import os\n"
                "os.makedirs('out', exist_ok=True)\n"
                "open('out/m.csv', 'w').write('step,loss\\n1,0.9\\n2,0.7\\n')\n"
            ),
            ".gitignore": "out/\n",
        }
    )


def test_logged_metrics_land_in_the_run_directory_and_in_show_and_list(project: Path) -> None:
    done = repro(project, "run", "logs.py")
    assert done.returncode == 0, done.stderr
    record = record_of(project)
    path = Path(done.stdout.splitlines()[0])
    assert path == project / ".repro" / "runs" / record["id"] / "metrics.jsonl"
    assert len(path.read_text().splitlines()) == 3
    assert record["metrics"]["final"] == {"acc": 0.5, "loss": 1.0 / 3}
    assert record["metrics"]["source"] == "REPRO_METRICS" and record["metrics"]["points"] == 6
    assert record["determinism"]["injected"]["REPRO_METRICS"] == str(path)
    assert (
        "loss" in repro(project, "show", "@").stdout
        and "(final)" in repro(project, "show", "@").stdout
    )
    assert "acc=0.5 loss=0.3333" in repro(project, "list").stdout
    assert json.loads(repro(project, "list", "--json").stdout)[0]["metrics"]["acc"] == 0.5


def test_a_metrics_file_the_script_writes_is_read_after_the_run(project: Path) -> None:
    done = repro(project, "run", "--metrics-file", "out/m.csv", "writes.py")
    assert done.returncode == 0, done.stderr
    record = record_of(project)
    assert record["metrics_file"] == "out/m.csv"
    assert (
        record["metrics"]["final"] == {"loss": 0.7} and record["metrics"]["source"] == "out/m.csv"
    )


def test_a_metrics_file_of_unknown_format_is_refused_before_the_run(project: Path) -> None:
    done = repro(project, "run", "--metrics-file", "out/m.txt", "writes.py")
    assert done.returncode == 5 and ".jsonl" in done.stderr
    assert not (project / "out").exists()


def test_a_missing_metrics_file_is_recorded_as_a_problem(project: Path) -> None:
    done = repro(project, "run", "--metrics-file", "out/none.jsonl", "writes.py")
    assert done.returncode == 0
    assert "metrics file not found" in done.stderr
    assert record_of(project)["problems"] == [
        f"metrics file not found after the run: {project / 'out' / 'none.jsonl'}"
    ]
