"""A tiny NumPy classifier: random init, shuffled minibatches, dropout — every source of run-to-run noise.

Usage: python train.py --config configs/demo.yaml --data data --out checkpoints
It never seeds anything itself: `repro run` controls the seed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import yaml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", default="data")
    parser.add_argument("--out", default="checkpoints")
    args = parser.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    hidden, dropout = cfg["model"]["hidden"], cfg["model"]["dropout"]
    lr, batch, epochs = cfg["optim"]["lr"], cfg["optim"]["batch_size"], cfg["optim"]["epochs"]

    table = np.loadtxt(Path(args.data) / "train.csv", delimiter=",")
    x, y = table[:, :-1], table[:, -1].astype(int)
    w1 = np.random.randn(x.shape[1], hidden) * 0.5  # random weight init
    w2 = np.random.randn(hidden, 2) * 0.5
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    step = 0
    with (out / "metrics.jsonl").open("w") as metrics:
        for epoch in range(epochs):
            order = np.random.permutation(len(x))  # shuffled minibatches
            for start in range(0, len(x), batch):
                idx = order[start : start + batch]
                h = np.maximum(x[idx] @ w1, 0)
                mask = (np.random.rand(*h.shape) > dropout) / (1 - dropout)  # dropout
                logits = (h * mask) @ w2
                p = np.exp(logits - logits.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                loss = -np.log(p[np.arange(len(idx)), y[idx]] + 1e-12).mean()
                grad = p.copy()
                grad[np.arange(len(idx)), y[idx]] -= 1
                grad /= len(idx)
                dh = (grad @ w2.T) * mask * (h > 0)
                w2 -= lr * (h * mask).T @ grad
                w1 -= lr * x[idx].T @ dh
                step += 1
                metrics.write(json.dumps({"step": step, "loss": float(loss)}) + "\n")
            accuracy = float(((np.maximum(x @ w1, 0) @ w2).argmax(1) == y).mean())
            print(f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  accuracy {accuracy:.3f}")
    np.savez(out / "model.npz", w1=w1, w2=w2)
    print(f"saved {out / 'model.npz'}")


if __name__ == "__main__":
    main()
