"""scikit-learn, run and rerun through repro: a random forest cross-validated on data drawn from
NumPy's global RNG (which repro's hook seeds) and pickled with joblib reruns bit for bit; an
unseeded term in the written score must still fail the rerun, naming the file."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

TRAIN = """\
import json, os, sys
import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score, train_test_split

seed = int(os.environ.get("REPRO_SEED", "0"))
# No random_state: the data come from NumPy's global RNG, which repro's hook seeds.
X, y = make_classification(n_samples=300, n_features=8, n_informative=4)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
model = RandomForestClassifier(n_estimators=20, random_state=seed)
scores = cross_val_score(model, X_train, y_train, cv=3)
model.fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
if sys.argv[1] == "noisy":
    accuracy += int.from_bytes(os.urandom(4), "big") / 2**32  # unseeded
os.makedirs("out", exist_ok=True)
with open("out/scores.json", "w") as f:
    json.dump({"cv": [round(s, 6) for s in scores], "accuracy": round(accuracy, 6)}, f)
joblib.dump(model, "out/model.joblib")
print(f"accuracy: {accuracy:.6f}")
"""
pytestmark = pytest.mark.slow  # scikit-learn imports in ~1.5 s; two runs and a rerun each


def run_and_rerun(make_repo: MakeRepo, variant: str) -> Rerun:
    root = make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})
    rerun = run_then_rerun(root, "--outputs", "out", "--", sys.executable, "train.py", variant)
    assert json.loads((root / "out" / "scores.json").read_text())["accuracy"] > 0.5
    assert "accuracy" in json.dumps(record_of(root)), "the printed accuracy is a metric"
    return rerun


def test_a_seeded_forest_and_its_joblib_pickle_rerun_bitwise_identical(
    make_repo: MakeRepo,
) -> None:
    out = assert_identical(run_and_rerun(make_repo, "fixed"))
    assert "2 output file(s) and 1 metric value(s) bitwise equal" in out


def test_an_unseeded_term_in_the_written_score_diverges_naming_the_scores(
    make_repo: MakeRepo,
) -> None:
    out = assert_diverged(run_and_rerun(make_repo, "noisy"))
    assert "~ out/scores.json" in out
    assert "~ out/model.joblib" not in out  # the model itself was trained the same
