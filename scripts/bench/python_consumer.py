#!/usr/bin/env python3
"""Benchmark D: the Python original's consumer path, one record at a time, as the original did it:
confluent-kafka consumer → json.loads (envelope, then the nested `raw` ticker) → the product's 60 s window and
the five features (numpy) → xgboost `predict_proba` on a 1-row frame → json.dumps → produce; input offsets are
stored from the delivery callback (at-least-once, like consumerd).

usage: python_consumer.py BOOTSTRAP MODEL.json EXPECT [INPUT_TOPIC] [OUTPUT_TOPIC]
Stops after EXPECT input records are done (prediction delivered, or skipped) and prints
`PYTHON records=N seconds=S rate=R` measured from the first poll that returned a record to the last delivery.
"""
import collections
import json
import math
import sys
import time

import numpy as np
import xgboost as xgb
from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, model_path, expect = sys.argv[1], sys.argv[2], int(sys.argv[3])
input_topic = sys.argv[4] if len(sys.argv) > 4 else "ticks.features"
output_topic = sys.argv[5] if len(sys.argv) > 5 else "bench.python"

FEATURES = ["midprice_return_mean", "midprice_return_std", "bid_ask_spread", "trade_intensity",
            "order_book_imbalance"]
model = xgb.XGBClassifier()
model.load_model(model_path)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "bench-python-%d" % int(time.time() * 1000),
    "auto.offset.reset": "earliest",
    "enable.auto.offset.store": False,
    "enable.auto.commit": True,
})
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
consumer.subscribe([input_topic])

windows = collections.defaultdict(collections.deque)  # product → deque of (ts, mid, spread)
done = 0
first = None
last = None


def finished():
    global done, last
    done += 1
    if done >= expect:
        last = time.monotonic()


def on_delivery(err, msg, source=None):
    if err is not None:
        print("delivery failed: %s" % err, file=sys.stderr)
        return
    consumer.store_offsets(offsets=[TopicPartition(source[0], source[1], source[2] + 1)])
    finished()


def features_for(product, ts, mid, spread):
    window = windows[product]
    window.append((ts, mid, spread))
    while window and window[0][0] < ts - 60:
        window.popleft()
    if len(window) < 2:
        return None
    ts_values = np.array([e[0] for e in window])
    mids = np.array([e[1] for e in window])
    spreads = np.array([e[2] for e in window])
    returns = np.diff(np.log(mids))
    duration = float(ts_values.max() - ts_values.min())
    spread_mean = float(spreads.mean())
    return {
        "midprice_return_mean": float(returns.mean()),
        "midprice_return_std": float(returns.std()),
        "bid_ask_spread": spread_mean,
        "trade_intensity": len(window) / duration if duration > 0 else math.inf,
        "order_book_imbalance": spread_mean / mid,
    }


while last is None:
    msg = consumer.poll(0.1)
    producer.poll(0)
    if msg is None:
        continue
    if msg.error():
        continue
    if first is None:
        first = time.monotonic()
    envelope = json.loads(msg.value())
    tick = json.loads(envelope["raw"]) if "raw" in envelope else envelope
    if tick.get("type", "ticker") != "ticker" or "price" not in tick:
        consumer.store_offsets(message=msg)
        finished()
        continue
    price = float(tick["price"])
    bid = float(tick.get("best_bid") or price * 0.9999)
    ask = float(tick.get("best_ask") or price * 1.0001)
    ts = float(envelope.get("ts") or envelope.get("timestamp"))
    product = envelope.get("pair") or tick.get("product_id")
    mid = (bid + ask) / 2
    features = features_for(product, ts, mid, ask - bid)
    if features is None:
        consumer.store_offsets(message=msg)
        finished()
        continue
    row = np.array([[features[name] for name in FEATURES]], dtype=np.float32)
    probability = float(model.predict_proba(row)[0][1])
    out = {
        "product_id": product, "event_time": ts, "timestamp": time.time(), "price": price, "midprice": mid,
        "prediction": int(probability >= 0.5), "probability": probability, "threshold": 0.5,
        "model_variant": "ml", "model_version": "python", "features": features,
        "source": {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()},
    }
    source = (msg.topic(), msg.partition(), msg.offset())
    producer.produce(output_topic, key=product, value=json.dumps(out),
                     on_delivery=lambda err, m, source=source: on_delivery(err, m, source))

producer.flush(30)
consumer.close()
seconds = last - first
print("PYTHON records=%d seconds=%.3f rate=%.0f" % (done, seconds, done / seconds))
