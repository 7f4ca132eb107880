import Foundation
import Testing

import FeaturePipeline

@Suite("Prediction encoder")
struct PredictionEncoderTests {
    let encoder = PredictionEncoder(modelVariant: .ml, modelVersion: "sha256:0123456789ab", threshold: 0.5)

    func prediction(productId: String = "BTC-USD", intensity: Double = 1.0416684361825643) -> Prediction {
        Prediction(
            productId: productId, eventTime: 1762932013.5493498, price: 103472.28, midprice: 103472.275,
            features: FeatureVector(
                midpriceReturnMean: -1.2345678901234567e-07, midpriceReturnStd: 1e-05, bidAskSpread: 0.0099999999947613105,
                tradeIntensity: intensity, orderBookImbalance: 9.6644245956332852e-08, windowSize: 2,
                windowDuration: 1.9199967384338379),
            score: ModelScore(probability: 4.6587108954554424e-05, prediction: 0))
    }

    func encode(_ p: Prediction, source: RecordSource = RecordSource(topic: "ticks", partition: 7, offset: 123_456_789_012)) throws -> (String, [String: Any]) {
        var buffer: [UInt8] = []
        self.encoder.encode(p, processingTime: 1762932014.25, source: source, into: &buffer)
        let object = try JSONSerialization.jsonObject(with: Data(buffer)) as? [String: Any]
        return (String(decoding: buffer, as: UTF8.self), try #require(object))
    }

    /// The literal text of a numeric member, e.g. `"price":103472.28` → "103472.28".
    func numberText(_ json: String, _ key: String) -> String? {
        guard let range = json.range(of: "\"\(key)\":") else { return nil }
        let rest = json[range.upperBound...]
        return String(rest.prefix { ",}".contains($0) == false })
    }

    @Test("output is valid JSON with the documented fields in order, numbers round-trip exactly")
    func fieldsRoundTrip() throws {
        let p = self.prediction()
        let (json, object) = try self.encode(p)
        #expect(json.hasPrefix(#"{"product_id":"BTC-USD","event_time":1762932013.5493498,"timestamp":1762932014.25,"price":103472.28,"#))
        #expect(object["product_id"] as? String == "BTC-USD")
        #expect(object["prediction"] as? Int == 0)
        #expect(object["model_variant"] as? String == "ml")
        #expect(object["model_version"] as? String == "sha256:0123456789ab")
        let expectedNumbers: [String: Double] = [
            "event_time": p.eventTime, "timestamp": 1762932014.25, "price": p.price, "midprice": p.midprice,
            "probability": p.score.probability, "threshold": 0.5,
            "midprice_return_mean": p.features.midpriceReturnMean, "midprice_return_std": p.features.midpriceReturnStd,
            "bid_ask_spread": p.features.bidAskSpread, "trade_intensity": p.features.tradeIntensity,
            "order_book_imbalance": p.features.orderBookImbalance,
        ]
        for (key, value) in expectedNumbers {
            let text = try #require(self.numberText(json, key), "\(key) missing")
            #expect(Double(text) == value, "\(key): \(text)")
        }
        let features = try #require(object["features"] as? [String: Any])
        #expect(Set(features.keys) == Set(FeatureVector.names))
        #expect((features["midprice_return_std"] as? NSNumber)?.doubleValue == 1e-05)
        let source = try #require(object["source"] as? [String: Any])
        #expect(source["topic"] as? String == "ticks")
        #expect((source["partition"] as? NSNumber)?.int64Value == 7)
        #expect((source["offset"] as? NSNumber)?.int64Value == 123_456_789_012)
        #expect(object.count == 12)
    }

    @Test("non-finite numbers are written as null")
    func nonFinite() throws {
        let (json, object) = try self.encode(self.prediction(intensity: .infinity))
        let features = try #require(object["features"] as? [String: Any])
        #expect(features["trade_intensity"] is NSNull)
        #expect(json.contains(#""trade_intensity":null"#))
        let (_, nanObject) = try self.encode(self.prediction(intensity: .nan))
        #expect((nanObject["features"] as? [String: Any])?["trade_intensity"] is NSNull)
    }

    @Test("odd product ids and topics are escaped", arguments: [
        "quote\"d", "back\\slash", "new\nline", "tab\there", "ctrl\u{01}\u{1F}", "é-ünïcødé", "emoji-😀", "slash/ok",
    ])
    func escaping(_ id: String) throws {
        let (_, object) = try self.encode(
            self.prediction(productId: id), source: RecordSource(topic: id, partition: -1, offset: -5))
        #expect(object["product_id"] as? String == id)
        let source = try #require(object["source"] as? [String: Any])
        #expect(source["topic"] as? String == id)
        #expect((source["partition"] as? NSNumber)?.intValue == -1)
        #expect((source["offset"] as? NSNumber)?.intValue == -5)
    }

    @Test("the buffer is cleared and reused")
    func bufferReuse() throws {
        var buffer = Array(repeating: UInt8(ascii: "x"), count: 4096)
        let capacity = buffer.capacity
        self.encoder.encode(self.prediction(productId: "A"), processingTime: 1, source: RecordSource(topic: "t", partition: 0, offset: 0), into: &buffer)
        #expect(buffer.first == UInt8(ascii: "{"))
        #expect(buffer.capacity == capacity)
        let first = buffer
        self.encoder.encode(self.prediction(productId: "B"), processingTime: 1, source: RecordSource(topic: "t", partition: 0, offset: 0), into: &buffer)
        #expect(buffer.count == first.count)
        #expect(buffer != first)
        #expect(try JSONSerialization.jsonObject(with: Data(buffer)) is [String: Any])
    }

    @Test("baseline outputs carry the baseline variant and z threshold")
    func baselineIdentity() throws {
        let encoder = PredictionEncoder(modelVariant: .baseline, modelVersion: "v\"1", threshold: 2)
        var buffer: [UInt8] = []
        encoder.encode(self.prediction(), processingTime: 0, source: RecordSource(topic: "t", partition: 0, offset: 0), into: &buffer)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer)) as? [String: Any])
        #expect(object["model_variant"] as? String == "baseline")
        #expect(object["model_version"] as? String == "v\"1")
        #expect((object["threshold"] as? NSNumber)?.doubleValue == 2)
    }
}
