#!/usr/bin/env python3
"""Writes the benchmark backlog: the bundled real ticks (ingestor envelopes) cycled until COUNT lines, each line's
product id (envelope `pair` and the ticker's `product_id`) replaced by a distinct id so records spread over the
partitions: pass k of the file, line i → product `BTC-%04d` % (k * LANES + i % LANES).

usage: make_preload.py SOURCE.ndjson COUNT OUT.ndjson [LANES]
"""
import sys

source, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lanes = int(sys.argv[4]) if len(sys.argv) > 4 else 32
lines = [l for l in open(source, encoding="utf-8").read().split("\n") if l.strip()]
written = 0
with open(out, "w", encoding="utf-8") as f:
    k = 0
    while written < count:
        for i, line in enumerate(lines):
            if written >= count:
                break
            pid = "BTC-%04d" % (k * lanes + i % lanes)
            l = line.replace('"pair":"BTC-USD"', '"pair":"%s"' % pid)
            l = l.replace('\\"product_id\\":\\"BTC-USD\\"', '\\"product_id\\":\\"%s\\"' % pid)
            l = l.replace('\\"product_ids\\":[\\"BTC-USD\\"]', '\\"product_ids\\":[\\"%s\\"]' % pid)
            f.write(l + "\n")
            written += 1
        k += 1
print("PRELOAD lines=%d passes=%d products<=%d" % (written, k, k * lanes))
