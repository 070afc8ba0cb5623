#!/usr/bin/env bash
# `make demo`: a newcomer's tour. Builds a small git project in a temporary directory and
# runs repro on it. Needs only repro and NumPy (`make install-demo`); no network, no server.
# The project is deleted at the end; DEMO_KEEP=1 keeps it (its .repro/ store, report.html and
# the exported bundle) and prints where: `DEMO_KEEP=1 make demo`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/repro-demo.XXXXXX")"
if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "(keeping $work)"; else trap 'rm -rf "$work"' EXIT; fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
export GIT_AUTHOR_NAME="repro demo" GIT_AUTHOR_EMAIL="demo@example.invalid"
export GIT_COMMITTER_NAME="repro demo" GIT_COMMITTER_EMAIL="demo@example.invalid"

cd "$work"
git init -q -b main .
mkdir configs
cp "$here/examples/train.py" train.py
cp "$here/configs/demo.yaml" configs/demo.yaml
printf 'data/\ncheckpoints/\n' > .gitignore
python "$here/examples/make_data.py" data
git add -A && git commit -q -m "demo project"
echo "demo project in $work: train.py, configs/demo.yaml, data/ (not in git)"

metrics="--metrics-file checkpoints/metrics.jsonl"  # the script writes its own loss curve
step repro run --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml
repro run --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml

step repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml
repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml

step "echo '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,1' > data/more.csv && repro run ...   # data changed: repro says what"
echo '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,1' > data/more.csv
repro run --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml

step repro fingerprint data
repro fingerprint data

step "echo '# tweak' >> train.py && repro run train.py --config configs/demo.yaml   # refused: dirty tree"
echo "# tweak" >> train.py
repro run train.py --config configs/demo.yaml || echo "(exit code $?: nothing ran, nothing recorded)"
git checkout -q train.py

step "repro rerun @   # replay the newest run in a pristine worktree; did it reproduce?"
repro rerun @ || echo "(exit code $?: the verdict above says why)"

step "echo '9,9,9,9,9,9,9,9,1' >> data/train.csv && repro rerun @~1   # refused: data changed"
echo "9,9,9,9,9,9,9,9,1" >> data/train.csv
repro rerun @~1 || echo "(exit code $?: nothing ran; --allow-data-drift would rerun anyway)"

step "repro doctor   # what could still make runs differ, with fixes"
repro doctor

step repro list
repro list

step "repro show @~1   # the run (data changed): its metrics, and its reruns with their verdicts"
repro show @~1

# Two runs at the same commit and seed that differ only in their config and their data: the
# diff names the data first, then the config, then what came out differently.
step "sed 's/lr: 0.1/lr: 0.05/' configs/demo.yaml > configs/lower_lr.yaml && git add configs && git commit"
sed 's/lr: 0.1/lr: 0.05/' configs/demo.yaml > configs/lower_lr.yaml
git add configs/lower_lr.yaml && git commit -q -m "a config with a lower learning rate"

step repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml
repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml

step "head -n 64 data/train.csv >> data/train.csv   # new rows under the same path"
head -n 64 data/train.csv > rows.tmp && cat rows.tmp >> data/train.csv && rm rows.tmp

step repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/lower_lr.yaml
repro run --seed 7 --data data --outputs checkpoints $metrics train.py --config configs/lower_lr.yaml

step "repro diff @~1 @   # everything that differs, most likely cause first"
repro diff @~1 @ || echo "(exit code $?: the runs differ, like diff(1))"

# Three seeds of one configuration: how much of a difference is noise?
step repro run --repeat 3 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml
repro run --repeat 3 --data data --outputs checkpoints $metrics train.py --config configs/demo.yaml
group="$(repro show --json @ | python -c 'import json, sys; print(json.load(sys.stdin)["group"])')"

step "repro stats $group   # each final metric over the group: mean, std, 95% CI"
repro stats "$group"

step "repro report @~2 @~1 @ -o report.html   # one self-contained HTML page: curves, tables"
repro report @~2 @~1 @ -o report.html

step "repro export @ -o run.bundle   # the run, its code and objects in one file to share"
repro export @ -o run.bundle
echo "(on another machine: repro import run.bundle, then repro rerun <id>)"

if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo
    echo "kept: $work (open $work/report.html; cd there and try repro list, repro show @)"
fi
