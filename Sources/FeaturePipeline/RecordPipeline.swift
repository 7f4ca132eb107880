/// The whole per-record path — size check, decode, window update, prediction — shared by the daemon and
/// by tools that replay input.
///
/// The pipeline owns the per-product windows, so one instance must see a product's records in order (the
/// daemon keeps one per partition-consuming task).
public struct RecordPipeline: Sendable {
    /// The model that scores every feature vector.
    public let model: LoadedModel
    /// Records with more bytes than this are dead-lettered as `oversize` without being parsed.
    public let maxRecordBytes: Int
    /// The rolling per-product windows.
    public private(set) var windows: FeatureWindows
    private let decoder: RecordDecoder

    /// Creates a pipeline with empty windows.
    public init(model: LoadedModel, maxRecordBytes: Int = 900_000, windowSeconds: Double = 60) {
        self.model = model
        self.maxRecordBytes = maxRecordBytes
        self.windows = FeatureWindows(windowSeconds: windowSeconds)
        self.decoder = RecordDecoder()
    }

    /// Decides the outcome of one input record, updating the product's window when the record is a tick.
    ///
    /// - Parameters:
    ///   - value: the Kafka record value.
    ///   - key: the Kafka key (product id fallback), or `nil`.
    ///   - kafkaTimestamp: the Kafka record timestamp in epoch seconds (event time fallback), or `nil`.
    ///   - now: wall-clock epoch seconds (upper bound for event times is `now + 1 day`).
    ///   - timings: when non-nil, receives the monotonic nanoseconds spent per stage; the clock is only read
    ///     when it is given.
    public mutating func process(
        value: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer?,
        kafkaTimestamp: Double?,
        now: Double,
        timings: UnsafeMutablePointer<StageTimings>?
    ) -> RecordOutcome {
        guard value.count <= self.maxRecordBytes else {
            return .deadLetter(
                RecordError(type: .oversize, reason: "record is \(value.count) bytes, limit \(self.maxRecordBytes)"))
        }
        var start: UInt64 = timings != nil ? MonotonicClock.nanoseconds() : 0

        let tick: Tick
        do {
            switch try self.decoder.decode(value, key: key, kafkaTimestamp: kafkaTimestamp, now: now) {
            case .tick(let decoded):
                tick = decoded
            case .control:
                Self.lap(&start, into: timings, \.decodeNanos)
                return .skipped(.noPrice)
            }
        } catch {
            Self.lap(&start, into: timings, \.decodeNanos)
            return .deadLetter(error)
        }
        Self.lap(&start, into: timings, \.decodeNanos)

        guard let features = self.windows.update(with: tick) else {
            Self.lap(&start, into: timings, \.featuresNanos)
            return .skipped(.warmingUp)
        }
        Self.lap(&start, into: timings, \.featuresNanos)

        let score = self.model.predict(features)
        Self.lap(&start, into: timings, \.predictNanos)

        return .prediction(
            Prediction(
                productId: tick.productId, eventTime: tick.eventTime, price: tick.price,
                midprice: tick.midprice, features: features, score: score))
    }

    @inline(__always)
    private static func lap(
        _ start: inout UInt64,
        into timings: UnsafeMutablePointer<StageTimings>?,
        _ stage: WritableKeyPath<StageTimings, UInt64>
    ) {
        guard let timings else { return }
        let now = MonotonicClock.nanoseconds()
        timings.pointee[keyPath: stage] = now &- start
        start = now
    }
}
