#!/usr/bin/env python3
"""Tests of the training path (run by scripts/test with the venv from scripts/ensure-training):

1. the Python features reproduce Tests/Fixtures/features-reference.csv (the daemon's conformance file) to 1e-9;
2. the realised label uses only ticks after the predicted one, and matches a direct computation;
3. training on the bundled ticks is reproducible (byte-identical outputs) and its outputs are well-formed;
4. with CONSUMERD set, `consumerd validate-model` accepts the trained model and its reference;
5. the bundled reference profiles are what `--reference-only` makes from the bundled ticks (floats to 1e-9 relative).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import features as F  # noqa: E402
import train as T  # noqa: E402

TICKS = os.path.join(ROOT, "Tests/Fixtures/coinbase-btc-usd-ticker.ndjson")
REFERENCE = os.path.join(ROOT, "Tests/Fixtures/features-reference.csv")


def near(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-15) -> bool:
    if a == b:
        return True
    return abs(a - b) <= abs_ or abs(a - b) <= rel * max(abs(a), abs(b))


def test_features_reproduce_reference() -> None:
    rows = F.feature_rows(F.read_ticks(TICKS))
    reference = pd.read_csv(REFERENCE)
    assert len(rows) == len(reference) == 2821, (len(rows), len(reference))
    bad = []
    for column in ["ts", "raw_price", "window_duration"] + F.FEATURES:
        for i, (a, b) in enumerate(zip(rows[column], reference[column])):
            if not near(float(a), float(b)):
                bad.append((column, i, a, b))
    assert (rows["window_size"].to_numpy() == reference["window_size"].to_numpy()).all()
    assert (rows["pair"] == reference["pair"]).all()
    assert not bad, bad[:5]


def test_label_uses_only_later_ticks() -> None:
    ticks = F.read_ticks(TICKS)
    rows = F.realised_volatility(ticks, F.feature_rows(ticks), 60.0)
    # Changing every tick at or before a row's tick must not change its label; changing a later tick inside the
    # horizon must.
    i = 1000
    index = int(rows["tick_index"][i])
    altered = [F.Tick(t.product_id, t.ts, t.price, t.bid * (1.01 if k <= index else 1), t.ask * (1.01 if k <= index else 1))
               for k, t in enumerate(ticks)]
    again = F.realised_volatility(altered, F.feature_rows(altered), 60.0)
    # Scaling tick i's mid changes only the first difference; use the ticks strictly after i instead.
    later = [F.Tick(t.product_id, t.ts, t.price, t.bid * (1.001 if k == index + 2 else 1), t.ask * (1.001 if k == index + 2 else 1))
             for k, t in enumerate(ticks)]
    moved = F.realised_volatility(later, F.feature_rows(later), 60.0)
    assert moved["realised_volatility"][i] != rows["realised_volatility"][i]
    # Row i's features look back only: the later change leaves them alone.
    for name in F.FEATURES:
        assert moved[name][i] == rows[name][i]
    assert again["horizon_ticks"][i] == rows["horizon_ticks"][i]
    # Direct computation for row i.
    start = ticks[index]
    mids = [start.mid] + [t.mid for t in ticks[index + 1 :] if t.product_id == start.product_id and t.ts <= start.ts + 60]
    # (the fixture is in event-time order, so "up to the first tick past tᵢ + H" is "every tick until then")
    diffs = np.diff(np.log(mids))
    assert near(rows["realised_volatility"][i], float(diffs.std()))
    assert rows["horizon_ticks"][i] == len(diffs)


def check_bins(b: dict) -> None:
    edges, proportions = b["edges"], b["proportions"]
    assert edges and all(math.isfinite(e) for e in edges)
    assert all(a < c for a, c in zip(edges, edges[1:]))
    assert len(proportions) == len(edges) + 1
    assert abs(sum(proportions) - 1) < 1e-9


def test_training_reproducible_and_well_formed() -> None:
    outputs = []
    for _ in range(2):
        directory = tempfile.mkdtemp(prefix="quality-train-")
        out = os.path.join(directory, "m.json")
        assert T.main([TICKS, "--out", out]) == 0
        outputs.append({suffix: open(T.sibling(out, suffix), "rb").read() for suffix in [".json", ".reference.json", ".report.json"]})
        last = out
    assert outputs[0] == outputs[1], "training is not reproducible"
    booster = xgb.Booster()
    booster.load_model(last)
    assert booster.feature_names == F.FEATURES
    reference = json.load(open(T.sibling(last, ".reference.json")))
    assert set(reference["features"]) == set(F.FEATURES)
    for b in list(reference["features"].values()) + [reference["probability"]]:
        check_bins(b)
    assert 0 <= reference["positive_rate"] <= 1
    assert reference["label_horizon_seconds"] == 60
    report = json.load(open(T.sibling(last, ".report.json")))
    for model in ("model", "baseline"):
        for key in ("pr_auc", "precision", "recall", "f1", "rows", "positives"):
            assert key in report[model], (model, key)
        assert report[model]["rows"] == report["split"]["test_rows"] > 0
    assert report["split"]["gap_seconds"] == 120
    assert report["label_threshold"] == reference["label_threshold"] > 0
    consumerd = os.environ.get("CONSUMERD")
    if consumerd:
        result = subprocess.run([consumerd, "validate-model", last], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "positive rate" in result.stdout, result.stdout


def assert_same_json(made, shipped, path: str = "") -> None:
    """`made` equals `shipped` in structure, keys, strings and integers, and in floats to 1e-9 relative: numpy's
    sums and quantiles round differently on different CPUs (its SIMD paths follow the instruction set), so a
    profile made on a machine without AVX-512 differs from one made with it in the last bits (seen: quantile
    edges 2.1009820852419445e-05 against 2.100982085241794e-05)."""
    if isinstance(shipped, float) or isinstance(made, float):
        assert isinstance(made, (int, float)) and isinstance(shipped, (int, float)), (path, made, shipped)
        assert math.isclose(made, shipped, rel_tol=1e-9, abs_tol=1e-300), (path, made, shipped)
    elif isinstance(shipped, dict):
        assert isinstance(made, dict) and made.keys() == shipped.keys(), (path, sorted(made), sorted(shipped))
        for key in shipped:
            assert_same_json(made[key], shipped[key], f"{path}/{key}")
    elif isinstance(shipped, list):
        assert isinstance(made, list) and len(made) == len(shipped), (path, made, shipped)
        for index, (a, b) in enumerate(zip(made, shipped)):
            assert_same_json(a, b, f"{path}[{index}]")
    else:
        assert made == shipped and type(made) is type(shipped), (path, made, shipped)


def test_bundled_references_are_reproduced() -> None:
    """config/models/{xgb-volatility-5feat,baseline}.reference.json are what --reference-only makes from the
    bundled ticks (floats to 1e-9 relative: see assert_same_json)."""
    for name, variant in (("xgb-volatility-5feat", "ml"), ("baseline", "baseline")):
        directory = tempfile.mkdtemp(prefix="quality-ref-")
        out = os.path.join(directory, "r.json")
        model = os.path.join(ROOT, f"config/models/{name}.json")
        shipped = os.path.join(ROOT, f"config/models/{name}.reference.json")
        threshold = json.load(open(shipped))["label_threshold"]
        assert T.main([TICKS, "--reference-only", "--model", model, "--variant", variant,
                       "--label-threshold", repr(threshold), "--out", out]) == 0
        assert_same_json(json.load(open(out)), json.load(open(shipped)), name)


if __name__ == "__main__":
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for test in tests:
        test()
        print(f"ok   {test.__name__}")
    print(f"{len(tests)} training tests passed")
