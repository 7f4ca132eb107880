/// Writes a ``RealisedOutcome`` as one JSON object (the `OUTCOMES_TOPIC` record) into a reused byte buffer.
///
/// `{"product_id":…,"event_time":…,"model_variant":…,"model_version":…,"role":"active"|"shadow",
/// "probability":…,"prediction":0|1,"realised_volatility":…|null,"realised_label":0|1|null,"horizon_ticks":N,
/// "label_threshold":…,"label_horizon_seconds":…,"source":{"topic":…,"partition":N,"offset":N}}`, where
/// `source` is the *predicted* tick. Numbers round-trip; non-finite ones (the volatility of an unlabelled
/// horizon) are `null`. Outcomes are rare next to ticks (one per prediction, at most), so this uses the
/// growable writer rather than PredictionEncoder's stack scratch.
public struct OutcomeEncoder: Sendable {
    public init() {}

    /// Clears `buffer` (keeping its capacity) and writes `outcome`.
    public func encode(_ outcome: RealisedOutcome, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        var writer = JSONByteWriter()
        swap(&writer.bytes, &buffer)
        defer { swap(&writer.bytes, &buffer) }
        writer.append("{\"product_id\":")
        writer.appendString(outcome.productId)
        writer.append(",\"event_time\":")
        writer.appendNumber(outcome.eventTime)
        writer.append(",\"model_variant\":")
        writer.appendString(outcome.score.variant.rawValue)
        writer.append(",\"model_version\":")
        writer.appendString(outcome.score.version)
        writer.append(",\"role\":")
        writer.appendString(outcome.score.role.rawValue)
        writer.append(",\"probability\":")
        writer.appendNumber(outcome.score.probability)
        writer.append(",\"prediction\":")
        writer.appendInteger(outcome.score.prediction)
        writer.append(",\"realised_volatility\":")
        writer.appendNumber(outcome.realisedVolatility)
        writer.append(",\"realised_label\":")
        if let label = outcome.realisedLabel { writer.appendInteger(label) } else { writer.append("null") }
        writer.append(",\"horizon_ticks\":")
        writer.appendInteger(outcome.horizonTicks)
        writer.append(",\"label_threshold\":")
        writer.appendNumber(outcome.labelThreshold)
        writer.append(",\"label_horizon_seconds\":")
        writer.appendNumber(outcome.labelHorizonSeconds)
        writer.append(",\"source\":{\"topic\":")
        writer.appendString(outcome.source.topic)
        writer.append(",\"partition\":")
        writer.appendInteger(outcome.source.partition)
        writer.append(",\"offset\":")
        writer.appendInteger(outcome.source.offset)
        writer.append("}}")
    }
}
