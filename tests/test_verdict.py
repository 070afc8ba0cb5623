"""The verdict and its parts, as pure functions: curves, logs, outcomes, spread."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repro_run.core.record import replace
from repro_run.models import FAILED, SUCCEEDED
from repro_run.models.comparison import bitwise_equal
from repro_run.verdict.decide import Evidence, decide
from repro_run.verdict.logs import compare_logs, normalize_log
from repro_run.verdict.metrics import compare_series, within
from repro_run.verdict.spread import metric_spreads

RTOL, ATOL = 1e-5, 1e-8


def test_equal_curves_are_bitwise_equal() -> None:
    curve = {"loss": [(1, 0.5), (2, float("nan"))]}
    result = compare_series(curve, curve, RTOL, ATOL)
    assert result.bitwise_equal and result.within_tolerance and result.compared == 2


def test_a_tiny_difference_is_within_tolerance_but_not_bitwise_equal() -> None:
    result = compare_series({"loss": [(1, 1.0)]}, {"loss": [(1, 1.0 + 1e-9)]}, RTOL, ATOL)
    assert not result.bitwise_equal and result.within_tolerance and result.differ == ("loss",)


def test_curves_part_at_the_first_step_beyond_tolerance_across_metrics() -> None:
    a = {"loss": [(1, 1.0), (2, 0.5), (3, 0.25)], "acc": [(1, 0.1), (2, 0.2), (3, 0.3)]}
    b = {"loss": [(1, 1.0), (2, 0.5), (3, 0.26)], "acc": [(1, 0.1), (2, 0.9), (3, 0.3)]}
    first = compare_series(a, b, RTOL, ATOL).first
    assert first is not None and (first.metric, first.step, first.original, first.rerun) == (
        "acc",
        2,
        0.2,
        0.9,
    )


def test_a_curve_that_stops_early_parts_where_it_stops() -> None:
    first = compare_series({"loss": [(1, 1.0), (2, 0.5)]}, {"loss": [(1, 1.0)]}, RTOL, ATOL).first
    assert first is not None and (first.step, first.original, first.rerun) == (2, 0.5, None)


def test_bitwise_equality_tells_signed_zeros_apart() -> None:
    assert bitwise_equal(float("nan"), float("nan")) and not bitwise_equal(0.0, -0.0)
    assert within(0.0, -0.0, 0, 0) and not within(float("nan"), 1.0, 1, 1)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_every_value_is_within_any_tolerance_of_itself(value: float) -> None:
    assert within(value, value, 0.0, 0.0)


@pytest.mark.parametrize(
    "line",
    [
        "epoch 3 loss 0.5312 took 0.16s",
        "epoch 3 loss 0.5312 took 12 ms",
        "epoch 3 loss 0.5312 time: 4.25",
        "epoch 3 loss 0.5312 elapsed=3",
        "epoch 3 loss 0.5312 | ms/batch 12.34",
        "epoch 3 loss 0.5312 [00:01<00:02, 30.12it/s]",
        "2026-01-01 12:00:00,123 epoch 3 loss 0.5312",
    ],
)
def test_timings_are_masked_and_results_are_not(line: str) -> None:
    (masked,) = normalize_log(line.encode())
    assert "epoch 3 loss 0.5312" in masked and "<time>" in masked


def test_numbers_that_are_not_timings_stay() -> None:
    assert normalize_log(b"5 samples, 6 epochs, lr 0.1\n") == ["5 samples, 6 epochs, lr 0.1"]


def test_a_progress_bar_keeps_its_final_state_and_run_specific_strings_are_replaced() -> None:
    log = b" 50%|#  | 1/2 [00:01<00:01]\r100%|##| 2/2 [00:02<00:00] \nsaved /tmp/w/run1/x\n"
    assert normalize_log(log, [("/tmp/w/run1", "<run-dir>")]) == [
        "100%|##| 2/2 [<time><<time>] ",  # tqdm pads a shorter frame to erase the longer one
        "saved <run-dir>/x",
    ]


def test_logs_that_differ_name_the_first_line_beyond_tolerance() -> None:
    a, b = ["a 1.0", "b 2.0", "c 3"], ["a 1.0000000001", "b 2.5", "c 3"]
    result = compare_logs(a, b, RTOL, ATOL)
    assert not result.equal and not result.within_tolerance
    assert result.first is not None and result.first.line == 2
    assert compare_logs(a[:1], b[:1], RTOL, ATOL).within_tolerance


def evidence(**changes: object) -> Evidence:
    base = Evidence(SUCCEEDED, 0, SUCCEEDED, 0, 0, (), False, None, None)
    return replace(base, **changes)


def metrics(a: list[tuple[int | None, float]], b: list[tuple[int | None, float]]) -> object:
    return compare_series({"loss": a}, {"loss": b}, RTOL, ATOL)


def test_outcomes() -> None:
    same = metrics([(1, 1.0)], [(1, 1.0)])
    close = metrics([(1, 1.0)], [(1, 1.0 + 1e-9)])
    far = metrics([(1, 1.0)], [(1, 2.0)])
    log_equal = compare_logs(["x"], ["x"], RTOL, ATOL)
    cases = [
        (evidence(metrics=same, has_outputs=True, outputs_compared=1), "IDENTICAL"),
        (evidence(metrics=close), "WITHIN TOLERANCE"),
        (evidence(metrics=same, has_outputs=True, outputs_differ=("~ out/w",)), "DIVERGED"),
        (
            evidence(metrics=close, has_outputs=True, outputs_differ=("~ out/w",)),
            "WITHIN TOLERANCE",
        ),
        (evidence(has_outputs=True, outputs_differ=("~ out/w",)), "DIVERGED"),
        (evidence(metrics=far), "DIVERGED"),
        (evidence(rerun_status=FAILED, rerun_exit=1), "FAILED"),
        (evidence(original_status=FAILED, original_exit=1), "DIVERGED"),
        (evidence(log=log_equal), "IDENTICAL"),
        (evidence(log=compare_logs(["x 1"], ["x 2"], RTOL, ATOL)), "DIVERGED"),
        (evidence(log=None), "DIVERGED"),
    ]
    for case, outcome in cases:
        assert decide(case, ["seed: 1 -> 2"], RTOL, ATOL).outcome == outcome, case


def test_outputs_equal_but_for_volatile_bytes_are_identical_and_say_so() -> None:
    note = "plots/a.pdf: equal but for its creation date"
    case = evidence(has_outputs=True, outputs_compared=2, outputs_equal_but=(note,))
    verdict = decide(case, ["packages: x"], RTOL, ATOL)
    assert (verdict.outcome, verdict.outputs_equal_but, verdict.causes) == (
        "IDENTICAL",
        (note,),
        (),
    )
    assert verdict.reason.startswith("2 output file(s) equal (1 file(s) but for bytes")


def test_a_changed_output_file_diverges_when_the_metrics_are_bitwise_equal() -> None:
    same = metrics([(1, 1.0)], [(1, 1.0)])
    case = evidence(metrics=same, has_outputs=True, outputs_compared=2, outputs_differ=("~ m.pt",))
    verdict = decide(case, [], RTOL, ATOL)
    assert (verdict.outcome, verdict.reason) == ("DIVERGED", "1 output file(s) differ")


def test_a_changed_output_file_is_within_tolerance_when_the_metrics_moved_within_it() -> None:
    close = metrics([(1, 1.0)], [(1, 1.0 + 1e-9)])
    case = evidence(metrics=close, has_outputs=True, outputs_differ=("~ m.pt",))
    verdict = decide(case, [], RTOL, ATOL)
    assert verdict.outcome == "WITHIN TOLERANCE"
    assert verdict.reason == "metrics loss differ within the tolerance; 1 output file(s) differ"


def test_causes_are_kept_only_when_the_rerun_did_not_reproduce_bit_for_bit() -> None:
    same = metrics([(1, 1.0)], [(1, 1.0)])
    assert decide(evidence(metrics=same), ["data: x"], RTOL, ATOL).causes == ()
    close = metrics([(1, 1.0)], [(1, 1.0 + 1e-9)])
    assert decide(evidence(metrics=close), ["packages: x"], RTOL, ATOL).causes == ("packages: x",)
    far = metrics([(1, 1.0)], [(1, 2.0)])
    verdict = decide(evidence(metrics=far), ["data: x", "seed: 1 -> 2"], RTOL, ATOL)
    assert verdict.causes == ("data: x", "seed: 1 -> 2")
    assert verdict.reason == "the loss curves part at step 1"
    assert decide(evidence(log=None), [], RTOL, ATOL).judged_on == ("log",)


def test_spread_of_final_values_over_runs() -> None:
    (loss,) = metric_spreads([{"loss": 0.5}, {"loss": 0.75}, {"loss": 0.25}])
    assert (loss.runs, loss.minimum, loss.maximum, loss.spread) == (3, 0.25, 0.75, 0.5)
