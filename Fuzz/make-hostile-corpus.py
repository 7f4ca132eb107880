#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/hostile/: one file per bad-record class plus manifest.json.

Run from anywhere: python3 Fuzz/make-hostile-corpus.py (deterministic; review the diff of manifest.json).
HostileCorpusTests checks every file against the manifest."""
import json, os, random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "hostile")
T = "1762932013.54"          # a valid event time (2025-11-12)
GOOD_FEAT = '{"timestamp": %s, "product_id": "BTC-USD", "price": 103472.28}' % T
GOOD_TICKER = ('{"type":"ticker","product_id":"BTC-USD","price":"103472.28","best_bid":"103472.27",'
               '"best_ask":"103472.29","time":"2025-11-12T07:20:11.615272Z"}')
def feat(price='103472.28', extra='', ts=T, pid='"BTC-USD"'):
    return '{"timestamp": %s, "product_id": %s, "price": %s%s}' % (ts, pid, price, extra)
def ticker(**kv):
    d = {"type": '"ticker"', "product_id": '"BTC-USD"', "price": '"103472.28"', "best_bid": '"103472.27"',
         "best_ask": '"103472.29"', "time": '"2025-11-12T07:20:11.615272Z"'}
    for k, v in kv.items():
        if v is None: d.pop(k, None)
        else: d[k] = v
    return "{" + ",".join('"%s":%s' % (k, v) for k, v in d.items()) + "}"
def envelope(raw_json_value, extra=''):
    return '{"ts": 1762932011.62, "pair": "BTC-USD", "raw": %s%s}' % (raw_json_value, extra)

cases = []  # (file, outcome, class, bytes, options)
def add(name, outcome, cls, data, **opts):
    if isinstance(data, str): data = data.encode("utf-8")
    cases.append((name, outcome, cls, data, opts))

# ---------- parse_error ----------
add("truncated-object.json", "parse_error", "truncated JSON (mid-number)", GOOD_FEAT[:60])
add("truncated-string.json", "parse_error", "truncated JSON (mid-string)", GOOD_FEAT[:40])
add("truncated-after-colon.json", "parse_error", "truncated JSON (after a colon)", '{"price":')
add("truncated-envelope-raw.json", "parse_error", "truncated JSON inside the envelope's raw string",
    envelope(json.dumps(GOOD_TICKER[:50])))
add("invalid-utf8-lone-continuation.bin", "parse_error", "invalid UTF-8: lone continuation byte",
    b'{"timestamp": 1762932013.54, "product_id": "BTC\x80USD", "price": 1}')
add("invalid-utf8-overlong.bin", "parse_error", "invalid UTF-8: overlong encoding of '/'",
    b'{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1, "x": "\xc0\xaf"}')
add("invalid-utf8-surrogate.bin", "parse_error", "invalid UTF-8: encoded UTF-16 surrogate",
    b'{"timestamp": 1762932013.54, "product_id": "\xed\xa0\x80", "price": 1}')
add("invalid-utf8-truncated-sequence.bin", "parse_error", "invalid UTF-8: sequence cut by the closing quote",
    b'{"timestamp": 1762932013.54, "product_id": "BTC-USD\xe2\x82", "price": 1}')
add("invalid-utf8-above-max.bin", "parse_error", "invalid UTF-8: code point above U+10FFFF",
    b'{"timestamp": 1762932013.54, "product_id": "\xf4\x90\x80\x80", "price": 1}')
add("invalid-utf8-in-key.bin", "parse_error", "invalid UTF-8 in a member name",
    b'{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1, "\xff": 1}')
add("invalid-utf8-in-raw.bin", "parse_error", "invalid UTF-8 inside the envelope's raw string",
    b'{"ts": 1762932011.62, "pair": "BTC-USD", "raw": "{\\"type\\":\\"ticker\\",\\"price\\":\\"1\\",\\"x\\":\\"\xfe\\"}"}')
add("utf16le-bom.bin", "parse_error", "UTF-16LE encoded record with BOM",
    b"\xff\xfe" + GOOD_FEAT.encode("utf-16-le"))
add("utf8-bom.bin", "parse_error", "UTF-8 byte order mark before the object", b"\xef\xbb\xbf" + GOOD_FEAT.encode())
add("deep-nesting-65.json", "parse_error", "nesting one level deeper than 64",
    '{"price": 1, "x": ' + "[" * 64 + "]" * 64 + "}")
add("deep-nesting-unclosed.json", "parse_error", "100,000 unclosed '[' (stack exhaustion attempt)", "[" * 100_000)
add("deep-nesting-objects.json", "parse_error", "20,000 nested objects, closed",
    '{"a":' * 20_000 + "1" + "}" * 20_000)
add("deep-nesting-in-raw.json", "parse_error", "65-deep nesting inside the raw string",
    envelope(json.dumps('{"type":"ticker","x":' + "[" * 65 + "]" * 65 + "}")))
add("literal-nan.json", "parse_error", "bare NaN literal", feat(price="NaN"))
add("literal-infinity.json", "parse_error", "bare Infinity literal", feat(price="Infinity"))
add("literal-negative-infinity.json", "parse_error", "bare -Infinity literal", feat(price="-Infinity"))
add("number-hex.json", "parse_error", "hexadecimal number literal", feat(price="0x10"))
add("number-plus-sign.json", "parse_error", "number with a leading '+'", feat(price="+5"))
add("number-leading-dot.json", "parse_error", "number with a leading '.'", feat(price=".5"))
add("number-trailing-dot.json", "parse_error", "number with a trailing '.'", feat(price="5."))
add("number-leading-zero.json", "parse_error", "number with a leading zero", feat(price="0123"))
add("number-bare-exponent.json", "parse_error", "exponent without digits", feat(price="1e"))
rng = random.Random(20251112)
add("binary-garbage.bin", "parse_error", "512 bytes of random binary", bytes(rng.randrange(256) for _ in range(512)))
add("binary-zeros.bin", "parse_error", "64 NUL bytes", b"\x00" * 64)
add("empty.json", "parse_error", "empty record", b"")
add("whitespace-only.json", "parse_error", "only whitespace", " \n\t\r  ")
add("nul-after-document.bin", "parse_error", "a NUL byte after the document", GOOD_FEAT.encode() + b"\x00")
add("two-documents.json", "parse_error", "two JSON documents in one record", GOOD_FEAT + "\n" + GOOD_FEAT)
add("single-quotes.json", "parse_error", "single-quoted strings", GOOD_FEAT.replace('"', "'"))
add("trailing-comma.json", "parse_error", "trailing comma in an object", feat(extra=","))
add("comment.json", "parse_error", "a JavaScript comment", "// tick\n" + GOOD_FEAT)
add("unescaped-newline.json", "parse_error", "raw newline inside a string", feat(pid='"BTC\nUSD"'))
add("invalid-escape.json", "parse_error", "invalid escape sequence", feat(pid='"BTC\\qUSD"'))
add("short-unicode-escape.json", "parse_error", "\\u escape with too few hex digits", feat(pid='"BTC\\u12"'))
add("missing-colon.json", "parse_error", "member without a colon", '{"price" 1}')
add("unquoted-key.json", "parse_error", "unquoted member name", '{price: 1}')
add("raw-empty-string.json", "parse_error", "envelope raw is an empty string", envelope('""'))

# ---------- schema_error ----------
add("top-level-array.json", "schema_error", "top-level array", "[" + GOOD_FEAT + "]")
add("top-level-string.json", "schema_error", "top-level string", '"BTC-USD"')
add("top-level-number.json", "schema_error", "top-level number", "103472.28")
add("top-level-null.json", "schema_error", "top-level null", "null")
add("empty-object.json", "schema_error", "empty object", "{}")
add("unrelated-object.json", "schema_error", "an object of none of the three shapes", '{"hello": "world"}')
add("price-object.json", "schema_error", "object where the price belongs", feat(price='{"value": 1}'))
add("price-array.json", "schema_error", "array where the price belongs", feat(price="[103472.28]"))
add("price-bool.json", "schema_error", "boolean where the price belongs", feat(price="true"))
add("price-null.json", "schema_error", "null price", feat(price="null"))
add("price-non-decimal-string.json", "schema_error", "non-decimal string price", feat(price='"12abc"'))
add("price-thousands-separator.json", "schema_error", "price string with a thousands separator", feat(price='"103,472.28"'))
add("price-padded-string.json", "schema_error", "price string with surrounding spaces", feat(price='" 103472.28 "'))
add("price-hex-string.json", "schema_error", "hexadecimal string price", feat(price='"0x1p4"'))
add("price-empty-string.json", "schema_error", "empty string price", feat(price='""'))
add("price-escaped-digits.json", "schema_error", "price string written with \\u escapes", feat(price='"\\u0031\\u0030"'))
add("bid-object.json", "schema_error", "object where best_bid belongs", ticker(best_bid='{"p": 1}'))
add("product-id-number.json", "schema_error", "number where the product id belongs", feat(pid="42"))
add("product-id-object.json", "schema_error", "object where the product id belongs", feat(pid='{"id": "BTC-USD"}'))
add("product-id-empty.json", "schema_error", "empty product id", feat(pid='""'))
add("missing-product-id-no-key.json", "schema_error", "no product id and no Kafka key",
    '{"timestamp": %s, "price": 1}' % T)
add("missing-product-id-invalid-utf8-key.json", "schema_error", "no product id and a key that is not UTF-8",
    '{"timestamp": %s, "price": 1}' % T, key_hex="ff fe 80")
add("missing-price.json", "schema_error", "featurizer message without price", '{"timestamp": %s, "product_id": "BTC-USD"}' % T)
add("ticker-missing-price.json", "schema_error", "ticker without price", ticker(price=None))
add("missing-event-time.json", "schema_error", "ticker with no time field and no Kafka timestamp", ticker(time=None))
add("timestamp-bool.json", "schema_error", "boolean timestamp", feat(ts="true"))
add("timestamp-array.json", "schema_error", "array timestamp", feat(ts="[1762932013.54]"))
add("timestamp-words.json", "schema_error", "timestamp string that is neither a number nor ISO 8601", feat(ts='"yesterday"'))
add("time-number.json", "schema_error", "ticker time as a number", ticker(time="1762932011.6"))
add("time-month-13.json", "schema_error", "ISO time with month 13", ticker(time='"2025-13-12T07:20:11Z"'))
add("time-feb-30.json", "schema_error", "ISO time on 30 February", ticker(time='"2025-02-30T07:20:11Z"'))
add("time-leap-second.json", "schema_error", "ISO time with a leap second", ticker(time='"2016-12-31T23:59:60Z"'))
add("type-number.json", "schema_error", "numeric type field", ticker(type="1"))
add("raw-object.json", "schema_error", "envelope raw is an object instead of a string", envelope(GOOD_TICKER))
add("raw-number.json", "schema_error", "envelope raw is a number", envelope("42"))
add("raw-null.json", "schema_error", "envelope raw is null", envelope("null"))
add("raw-holds-array.json", "schema_error", "envelope raw string holds an array", envelope(json.dumps("[1, 2]")))
add("raw-holds-string.json", "schema_error", "envelope raw string holds a JSON string", envelope(json.dumps(json.dumps(GOOD_TICKER))))
add("duplicate-key-last-bad.json", "schema_error", "duplicate price, the last one is not a number",
    '{"timestamp": %s, "product_id": "BTC-USD", "price": 1, "price": "abc"}' % T)

# ---------- invalid_value ----------
add("price-string-nan.json", "invalid_value", "\"NaN\" string price", feat(price='"NaN"'))
add("price-string-infinity.json", "invalid_value", "\"Infinity\" string price", feat(price='"Infinity"'))
add("price-string-negative-inf.json", "invalid_value", "\"-inf\" string best_ask", ticker(best_ask='"-inf"'))
add("huge-exponent.json", "invalid_value", "1e999 overflows to infinity", feat(price="1e999"))
add("huge-exponent-string.json", "invalid_value", "\"1e400\" string overflows to infinity", ticker(price='"1e400"'))
add("huge-mantissa.json", "invalid_value", "a 5,000-digit integer price overflows to infinity", feat(price="9" * 5000))
add("tiny-exponent.json", "invalid_value", "1e-400 underflows to zero", feat(price="1e-400"))
add("exponent-million-digits.json", "invalid_value", "exponent with 100,000 digits", feat(price="1e" + "9" * 100_000))
add("negative-price.json", "invalid_value", "negative price", feat(price="-5"))
add("zero-price.json", "invalid_value", "zero price", feat(price="0"))
add("negative-zero-price.json", "invalid_value", "negative zero price", feat(price="-0.0"))
add("zero-price-string.json", "invalid_value", "\"0.00\" string price", ticker(price='"0.00"'))
add("negative-bid.json", "invalid_value", "negative best bid", ticker(best_bid='"-1"'))
add("zero-ask.json", "invalid_value", "zero best ask", ticker(best_bid='"0"', best_ask='"0"'))
add("bid-above-ask.json", "invalid_value", "bid above ask", ticker(best_bid='"103472.30"', best_ask='"103472.29"'))
add("negative-spread.json", "invalid_value", "negative spread_abs (bid above ask)",
    feat(extra=', "midprice": 103472.28, "spread_abs": -0.5'))
add("midprice-nan-string.json", "invalid_value", "\"nan\" midprice", feat(extra=', "midprice": "nan", "spread_abs": 0.01'))
add("timestamp-milliseconds.json", "invalid_value", "timestamp in milliseconds", feat(ts="1762932013540"))
add("timestamp-microseconds.json", "invalid_value", "timestamp in microseconds", feat(ts="1762932013540000"))
add("timestamp-nanoseconds-string.json", "invalid_value", "timestamp string in nanoseconds", feat(ts='"1762932013540000000"'))
add("timestamp-zero.json", "invalid_value", "timestamp 0 (1970)", feat(ts="0"))
add("timestamp-negative.json", "invalid_value", "negative timestamp", feat(ts="-1762932013.54"))
add("timestamp-1999.json", "invalid_value", "timestamp just before 2000-01-01", feat(ts="946684799"))
add("timestamp-far-future.json", "invalid_value", "timestamp in 2100", feat(ts="4102444800"))
add("timestamp-huge-exponent.json", "invalid_value", "timestamp 1e308", feat(ts="1e308"))
add("timestamp-string-inf.json", "invalid_value", "timestamp string \"inf\"", feat(ts='"inf"'))
add("time-year-9999.json", "invalid_value", "ISO time in year 9999", ticker(time='"9999-12-31T23:59:59Z"'))
add("time-1970.json", "invalid_value", "ISO time in 1970", ticker(time='"1970-01-01T00:00:00Z"'))
add("kafka-timestamp-milliseconds.json", "invalid_value", "event time only from a Kafka timestamp in milliseconds",
    ticker(time=None), kafka_timestamp=1762932013540.0)
add("envelope-ts-far-future.json", "invalid_value", "envelope ts far in the future",
    '{"ts": 4102444800, "pair": "BTC-USD", "raw": %s}' % json.dumps(GOOD_TICKER))

# ---------- no_price ----------
add("control-heartbeat.json", "no_price", "Coinbase heartbeat control message",
    '{"type":"heartbeat","last_trade_id":1,"product_id":"BTC-USD","sequence":1,"time":"2025-11-12T07:20:11Z"}')
add("control-subscriptions.json", "no_price", "Coinbase subscriptions message",
    '{"type":"subscriptions","channels":[{"name":"ticker","product_ids":["BTC-USD"]}]}')
add("control-type-uppercase.json", "no_price", "type \"TICKER\" (case matters) is a control message", ticker(type='"TICKER"'))
add("control-in-envelope.json", "no_price", "heartbeat inside an envelope", envelope(json.dumps('{"type":"heartbeat"}')))
add("control-with-garbage-price.json", "no_price", "control message whose price is garbage", '{"type":"error","price":{"x":[]}}')

# ---------- accepted (prediction on the second identical record) ----------
add("good-featurizer.json", "prediction", "valid featurizer message (control case)", GOOD_FEAT)
add("good-ticker.json", "prediction", "valid raw ticker (control case)", GOOD_TICKER)
add("good-envelope.json", "prediction", "valid envelope (control case)", envelope(json.dumps(GOOD_TICKER)))
add("duplicate-key-last-good.json", "prediction", "duplicate price, the last one wins (as in Python)",
    '{"timestamp": %s, "product_id": "BTC-USD", "price": {"bad": 1}, "price": 5}' % T)
add("escaped-member-names.json", "prediction", "member names written with \\u escapes",
    '{"timest\\u0061mp": %s, "product_\\u0069d": "BTC-USD", "pric\\u0065": 1}' % T)
add("missing-product-id-key.json", "prediction", "no product id, the Kafka key names it",
    '{"timestamp": %s, "price": 1}' % T, key="BTC-USD")
add("event-time-from-kafka.json", "prediction", "no event time in the record, Kafka timestamp used",
    ticker(time=None), kafka_timestamp=1762932013.54)
add("unicode-product-id.json", "prediction", "non-ASCII product id", feat(pid='"\\u20bf-\u20ac\U0001F680"'))
add("lone-surrogate-escape.json", "prediction", "product id with a lone \\ud800 escape (valid JSON syntax)",
    feat(pid='"BTC\\ud800"'))
add("nul-escape-product-id.json", "prediction", "product id containing an escaped NUL", feat(pid='"BTC\\u0000USD"'))
add("bid-equals-ask.json", "prediction", "bid equal to ask", ticker(best_bid='"100"', best_ask='"100"'))
add("type-null.json", "prediction", "type null is treated as a ticker", ticker(type="null"))
add("ignored-deep-64.json", "prediction", "64-deep nesting in an ignored member (the limit)",
    feat(extra=', "x": ' + "[" * 63 + "]" * 63))
add("huge-ignored-number.json", "prediction", "a 10,000-digit number in an ignored member",
    feat(extra=', "x": 1' + "0" * 10_000))
add("time-with-offset.json", "prediction", "ISO time with a +05:30 offset and nanoseconds",
    ticker(time='"2025-11-12T12:50:11.615272999+05:30"'))
add("timestamp-exponent.json", "prediction", "timestamp written with an exponent", feat(ts="1.76293201354e9"))
add("product-id-256-bytes.json", "prediction", "product id of exactly 256 bytes (the limit)", feat(pid='"' + "P" * 256 + '"'))
add("product-id-257-bytes.json", "invalid_value", "product id longer than 256 bytes (state memory bound)", feat(pid='"' + "P" * 257 + '"'))
add("product-id-100k.json", "invalid_value", "100 KB product id", feat(pid='"' + "Q" * 100_000 + '"'))
add("oversize-small-limit.json", "oversize", "record above MAX_RECORD_BYTES (limit lowered to 64 for this case)",
    GOOD_FEAT, max_record_bytes=64)

if os.path.isdir(OUT):
    for f in [f for f in os.listdir(OUT) if f != "README.md"]:
        os.remove(os.path.join(OUT, f))
os.makedirs(OUT, exist_ok=True)
names = set()
manifest = []
for name, outcome, cls, data, opts in cases:
    assert name not in names, name
    names.add(name)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    entry = {"file": name, "outcome": outcome, "class": cls}
    entry.update(opts)
    manifest.append(entry)
doc = {
    "description": "Hostile input records for RecordPipeline.process. Each file is one Kafka record value. "
        "outcome: parse_error|schema_error|invalid_value|oversize (dead letter), no_price (skipped), or "
        "prediction (a valid tick: warming_up the first time, a prediction when the same record is "
        "processed again). Optional: key (UTF-8 Kafka key), key_hex (key bytes in hex), kafka_timestamp "
        "(epoch seconds), max_record_bytes (pipeline limit for this case). now = 2026-01-01T00:00:00Z.",
    "now": 1767225600,
    "cases": manifest,
}
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")
from collections import Counter
print(len(cases), Counter(c[1] for c in cases))
print(sum(len(c[3]) for c in cases), "bytes")
