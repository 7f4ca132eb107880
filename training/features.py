"""The daemon's tick decoding, features and realised label, in Python.

Exactly the definitions of consumerd (Sources/FeaturePipeline, docs): per product, a tick's (ts, mid, spread)
enters a 60 s window; entries with ts < ts_now - 60 are dropped; a row is emitted once the window holds at
least 2 entries. The realised label follows issue 13: the horizon of the row of tick i is tick i and the
product's later ticks (in input order) up to but excluding the first with ts > ts_i + H.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = [
    "midprice_return_mean",
    "midprice_return_std",
    "bid_ask_spread",
    "trade_intensity",
    "order_book_imbalance",
]
WINDOW_SECONDS = 60.0


@dataclass
class Tick:
    product_id: str
    ts: float
    price: float
    bid: float
    ask: float

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    return float(value)


def _iso_seconds(text: str) -> float:
    return pd.Timestamp(text).timestamp()


def decode(line: str) -> Tick | None:
    """One NDJSON record in any of the daemon's three shapes (ingestor envelope, raw Coinbase ticker,
    featurizer message); None for records without a price (e.g. `subscriptions`)."""
    obj = json.loads(line)
    ts = _number(obj.get("ts", obj.get("timestamp")))
    product = obj.get("pair", obj.get("product_id"))
    if "raw" in obj:
        raw = json.loads(obj["raw"]) if isinstance(obj["raw"], str) else obj["raw"]
        if raw.get("type", "ticker") != "ticker":
            return None
        inner = raw
        product = product or raw.get("product_id")
        if ts is None and raw.get("time"):
            ts = _iso_seconds(raw["time"])
    else:
        inner = obj
        if obj.get("type") not in (None, "ticker"):
            return None
        if ts is None and obj.get("time"):
            ts = _iso_seconds(obj["time"])
    price = _number(inner.get("price"))
    if price is None and inner.get("midprice") is not None:
        price = float(inner["midprice"])
    if price is None:
        return None
    bid = _number(inner.get("best_bid"))
    ask = _number(inner.get("best_ask"))
    if bid is None or ask is None:
        bid, ask = price * 0.9999, price * 1.0001
    return Tick(product_id=str(product), ts=float(ts), price=price, bid=bid, ask=ask)


def read_ticks(path: str) -> list[Tick]:
    ticks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                tick = decode(line)
                if tick is not None:
                    ticks.append(tick)
    return ticks


def feature_rows(ticks: list[Tick], window_seconds: float = WINDOW_SECONDS) -> pd.DataFrame:
    """One row per tick whose window holds at least 2 entries; `tick_index` is the tick's position in
    `ticks` (input order)."""
    windows: dict[str, list[tuple[float, float, float]]] = {}
    rows = []
    for index, tick in enumerate(ticks):
        window = windows.setdefault(tick.product_id, [])
        window.append((tick.ts, tick.mid, tick.ask - tick.bid))
        cutoff = tick.ts - window_seconds
        while window and window[0][0] < cutoff:
            window.pop(0)
        if len(window) < 2:
            continue
        ts = np.array([e[0] for e in window])
        mids = np.array([e[1] for e in window])
        spreads = np.array([e[2] for e in window])
        returns = np.diff(np.log(mids))
        duration = float(ts.max() - ts.min())
        spread_mean = float(spreads.mean())
        rows.append(
            {
                "tick_index": index,
                "ts": tick.ts,
                "pair": tick.product_id,
                "raw_price": tick.price,
                "window_size": len(window),
                "window_duration": duration,
                "midprice_return_mean": float(returns.mean()),
                "midprice_return_std": float(returns.std(ddof=0)),
                "bid_ask_spread": spread_mean,
                "trade_intensity": len(window) / duration if duration > 0 else math.inf,
                "order_book_imbalance": spread_mean / tick.mid,
            }
        )
    return pd.DataFrame(rows)


def realised_volatility(ticks: list[Tick], rows: pd.DataFrame, horizon_seconds: float) -> pd.DataFrame:
    """Adds `realised_volatility`, `horizon_ticks` and `completed` to feature rows (only ticks after tᵢ are
    used: no leakage into the features, which only look back)."""
    by_product: dict[str, list[int]] = {}
    for index, tick in enumerate(ticks):
        by_product.setdefault(tick.product_id, []).append(index)
    position = {}
    for indices in by_product.values():
        for k, index in enumerate(indices):
            position[index] = k
    volatility, counts, completed = [], [], []
    for index in rows["tick_index"]:
        start = ticks[index]
        later = by_product[start.product_id]
        mids = [start.mid]
        done = False
        for j in later[position[index] + 1 :]:
            if ticks[j].ts > start.ts + horizon_seconds:
                done = True
                break
            mids.append(ticks[j].mid)
        differences = np.diff(np.log(np.array(mids)))
        counts.append(len(differences))
        volatility.append(float(differences.std(ddof=0)) if len(differences) >= 2 else math.nan)
        completed.append(done)
    out = rows.copy()
    out["realised_volatility"] = volatility
    out["horizon_ticks"] = counts
    out["completed"] = completed
    return out


def model_matrix(rows: pd.DataFrame) -> np.ndarray:
    """Feature matrix in model order. +inf (a zero-length window's trade_intensity) becomes float32 max: it
    takes the same branch of every finite split as +inf does in the daemon's scorer."""
    x = rows[FEATURES].to_numpy(dtype=np.float64)
    return np.where(np.isposinf(x), np.finfo(np.float32).max, x)


def bins(values: np.ndarray, bin_count: int = 10) -> dict:
    """Reference bins of a sample: edges at the empirical quantiles i/bin_count, each placed midway below its
    quantile value (distinct, strictly increasing), proportions counted with the daemon's rule (bin = number of
    edges ≤ v). Swift's BinnedDistribution.fromSample does the same."""
    finite = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    if len(finite) < 2 or finite[0] == finite[-1]:
        raise ValueError("need at least two distinct finite values to bin")
    edges: list[float] = []
    for i in range(1, bin_count):
        upper = float(finite[min(len(finite) - 1, (i * len(finite)) // bin_count)])
        below = int(np.searchsorted(finite, upper, side="left"))
        if below == 0:
            continue
        # Midway between the quantile value and the next smaller distinct value: a value computed slightly
        # differently (float32 here, double in the daemon) still falls in the same bin.
        lower = float(finite[below - 1])
        edge = lower + (upper - lower) / 2
        if not edges or edge > edges[-1]:
            edges.append(edge)
    index = np.searchsorted(np.array(edges), finite, side="right")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return {"edges": edges, "proportions": [float(c) / len(finite) for c in counts]}


def reference_profile(
    rows: pd.DataFrame, probabilities: np.ndarray, label_threshold: float, horizon_seconds: float,
    predictions: np.ndarray | None = None,
) -> dict:
    """The model's `.reference.json`: feature and probability bins of the given (training) rows and the
    model's predicted positive rate on them."""
    return {
        "features": {name: bins(rows[name].to_numpy(dtype=np.float64)) for name in FEATURES},
        "probability": bins(np.asarray(probabilities, dtype=np.float64)),
        "positive_rate": float(np.mean(np.asarray(predictions if predictions is not None else np.asarray(probabilities) >= 0.5))),
        "label_threshold": float(label_threshold),
        "label_horizon_seconds": float(horizon_seconds),
    }


def baseline_scores(rows: pd.DataFrame, baseline: dict) -> tuple[np.ndarray, np.ndarray]:
    """The z-score baseline (config/models/baseline.json): probability and decision."""
    z = (rows[baseline["feature"]].to_numpy(dtype=np.float64) - baseline["mean"]) / baseline["std"]
    probability = 1 / (1 + np.exp(-(z - baseline["threshold"])))
    return probability, (z >= baseline["threshold"]).astype(int)
