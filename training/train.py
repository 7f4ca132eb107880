#!/usr/bin/env python3
"""Trains the volatility-spike model from recorded ticks with the daemon's exact features and an honest label.

    train.py TICKS.ndjson --out config/models/NAME.json [--horizon-seconds 60] [--tau-quantile 0.9]

Writes NAME.json (XGBoost JSON model), NAME.reference.json (the drift reference consumerd reads) and
NAME.report.json (PR-AUC, precision, recall, F1 on the test split, and the baseline's on the same rows).

    train.py TICKS.ndjson --reference-only --model M.json [--variant baseline] --label-threshold T --out M.reference.json

writes only a reference profile for an existing model, from all rows of TICKS (how the bundled model's
reference was made).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features as F  # noqa: E402

WINDOW_SECONDS = F.WINDOW_SECONDS


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """PR-AUC as average precision (step-wise, ties broken by grouping equal scores)."""
    positives = int(labels.sum())
    if positives == 0:
        return math.nan
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    ap, tp, fp, previous_recall = 0.0, 0, 0, 0.0
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            tp += int(y[j])
            fp += int(1 - y[j])
            j += 1
        recall = tp / positives
        ap += (recall - previous_recall) * (tp / (tp + fp))
        previous_recall = recall
        i = j
    return ap


def classification(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> dict:
    tp = int(((predictions == 1) & (labels == 1)).sum())
    fp = int(((predictions == 1) & (labels == 0)).sum())
    fn = int(((predictions == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * precision * recall / (precision + recall) if tp else (0.0 if tp + fp + fn else math.nan)
    return {
        "pr_auc": average_precision(labels, probabilities),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "brier": float(np.mean((probabilities - labels) ** 2)) if len(labels) else math.nan,
        "rows": int(len(labels)),
        "positives": int(labels.sum()),
        "predicted_positives": int(predictions.sum()),
    }


def labelled_rows(path: str, horizon: float):
    ticks = F.read_ticks(path)
    rows = F.feature_rows(ticks)
    rows = F.realised_volatility(ticks, rows, horizon)
    return rows[rows["completed"] & (rows["horizon_ticks"] >= 2)].reset_index(drop=True)


def write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


def sibling(path: str, suffix: str) -> str:
    return (path[:-5] if path.endswith(".json") else path) + suffix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ticks")
    parser.add_argument("--out", required=True)
    parser.add_argument("--horizon-seconds", type=float, default=60.0)
    parser.add_argument("--tau-quantile", type=float, default=0.9)
    parser.add_argument("--train-fraction", type=float, default=0.7, help="share of the time span before the split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", default=os.path.join(os.path.dirname(__file__), "..", "config/models/baseline.json"))
    parser.add_argument("--reference-only", action="store_true")
    parser.add_argument("--model", help="--reference-only: the existing model (XGBoost JSON, or baseline parameters)")
    parser.add_argument("--variant", choices=["ml", "baseline"], default="ml", help="--reference-only: the model's kind")
    parser.add_argument("--label-threshold", type=float, help="--reference-only: τ recorded in the reference")
    args = parser.parse_args(argv)
    horizon = args.horizon_seconds

    if args.reference_only:
        if not args.model or args.label_threshold is None:
            parser.error("--reference-only needs --model and --label-threshold")
        ticks = F.read_ticks(args.ticks)
        rows = F.feature_rows(ticks)
        if args.variant == "baseline":
            with open(args.model, encoding="utf-8") as f:
                probabilities, predictions = F.baseline_scores(rows, json.load(f))
        else:
            booster = xgb.Booster()
            booster.load_model(args.model)
            probabilities = booster.predict(xgb.DMatrix(F.model_matrix(rows), feature_names=F.FEATURES))
        write_json(args.out, F.reference_profile(
            rows, probabilities, args.label_threshold, horizon, predictions if args.variant == "baseline" else None))
        print(f"wrote {args.out} ({len(rows)} rows)")
        return 0

    rows = labelled_rows(args.ticks, horizon)
    if len(rows) < 20:
        print(f"only {len(rows)} labelled rows: not enough to train", file=sys.stderr)
        return 1
    # Split by time with a gap of H + 60 s: no training label looks into a test row's window.
    t0, t1 = rows["ts"].min(), rows["ts"].max()
    cut = t0 + args.train_fraction * (t1 - t0)
    train = rows[rows["ts"] < cut].reset_index(drop=True)
    test = rows[rows["ts"] >= cut + horizon + WINDOW_SECONDS].reset_index(drop=True)
    if len(train) == 0 or len(test) == 0:
        print("the time split leaves an empty train or test set", file=sys.stderr)
        return 1
    tau = float(np.quantile(train["realised_volatility"].to_numpy(), args.tau_quantile))
    y_train = (train["realised_volatility"].to_numpy() >= tau).astype(int)
    y_test = (test["realised_volatility"].to_numpy() >= tau).astype(int)

    params = {
        "objective": "binary:logistic",
        "max_depth": 4,
        "eta": 0.1,
        "subsample": 1.0,
        "tree_method": "exact",
        "seed": args.seed,
        "nthread": 1,
        "eval_metric": "aucpr",
    }
    dtrain = xgb.DMatrix(F.model_matrix(train), label=y_train, feature_names=F.FEATURES)
    booster = xgb.train(params, dtrain, num_boost_round=100)
    booster.save_model(args.out)

    p_train = booster.predict(dtrain)
    p_test = booster.predict(xgb.DMatrix(F.model_matrix(test), feature_names=F.FEATURES))
    write_json(sibling(args.out, ".reference.json"), F.reference_profile(train, p_train, tau, horizon))

    with open(args.baseline, encoding="utf-8") as f:
        baseline = json.load(f)
    b_prob, b_pred = F.baseline_scores(test, baseline)
    report = {
        "ticks": os.path.basename(args.ticks),
        "label_horizon_seconds": horizon,
        "label_threshold": tau,
        "tau_quantile": args.tau_quantile,
        "split": {"cut_ts": cut, "gap_seconds": horizon + WINDOW_SECONDS, "train_rows": len(train),
                  "test_rows": len(test), "train_positives": int(y_train.sum())},
        "model": classification(y_test, (p_test >= 0.5).astype(int), p_test),
        "baseline": classification(y_test, b_pred, b_prob),
    }
    report = json.loads(json.dumps(report, default=float).replace("NaN", "null"))
    write_json(sibling(args.out, ".report.json"), report)
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
