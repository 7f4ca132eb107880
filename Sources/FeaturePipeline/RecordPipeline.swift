/// The whole per-record path — size check, decode, product-id length check, window update (with the state
/// bounds of ``FeatureWindows``), prediction — shared by the daemon and by tools that replay input.
///
/// The pipeline owns the per-product windows, so one instance must see a product's records in order (the
/// daemon keeps one per partition-consuming task).
public struct RecordPipeline: Sendable {
    /// The model that scores every feature vector (replaced between two records on a reload).
    public var model: LoadedModel
    /// Records with more bytes than this are dead-lettered as `oversize` without being parsed.
    public let maxRecordBytes: Int
    /// Ticks whose product id has more UTF-8 bytes than this are dead-lettered as `invalid_value`, so the
    /// memory held per product (and so the whole state, with ``FeatureWindows/maxKeys``) stays bounded.
    public let maxProductIdBytes: Int
    /// Default for ``maxProductIdBytes``: far above any exchange's product ids (Coinbase's are ≤ 20 bytes).
    public static let defaultMaxProductIdBytes = 256
    /// The rolling per-product windows.
    public private(set) var windows: FeatureWindows
    /// Open horizons of this partition's predictions and the outcomes the last record completed (see
    /// ``RealisedLabelTracker``); horizons are opened by the caller with ``openHorizon(source:first:second:)``.
    public private(set) var labels: RealisedLabelTracker
    /// Whether ticks advance the label horizons (label settings were given); off, the path is as before.
    public private(set) var labelsEnabled: Bool

    /// The outcomes the last record completed. Read this rather than `labels.completed` on the hot path: from
    /// another module `labels` is a getter that copies the whole tracker (retaining all its storage) per call.
    public var completedOutcomes: [RealisedOutcome] { self.labels.completed }
    /// Products held in the windows (as `windows.productCount`, without copying the windows).
    public var productCount: Int { self.windows.productCount }
    private let decoder: RecordDecoder

    /// Creates a pipeline with empty windows.
    ///
    /// - Parameters:
    ///   - model: the model that scores every feature vector.
    ///   - maxRecordBytes: larger records are dead-lettered as `oversize` without being parsed.
    ///   - windowSeconds: rolling window length.
    ///   - maxKeys: most products whose windows are kept (`STATE_MAX_KEYS`); see ``FeatureWindows``.
    ///   - idleSeconds: event-time idleness after which a product's window is dropped (`STATE_IDLE_SECONDS`).
    ///   - maxProductIdBytes: longer product ids are dead-lettered as `invalid_value`.
    public init(
        model: LoadedModel,
        maxRecordBytes: Int = 900_000,
        windowSeconds: Double = 60,
        maxKeys: Int = FeatureWindows.defaultMaxKeys,
        idleSeconds: Double = FeatureWindows.defaultIdleSeconds,
        maxProductIdBytes: Int = RecordPipeline.defaultMaxProductIdBytes,
        labelSettings: LabelSettings? = nil
    ) {
        self.labels = RealisedLabelTracker(settings: labelSettings ?? LabelSettings(threshold: .infinity))
        self.labelsEnabled = labelSettings != nil
        self.model = model
        self.maxRecordBytes = maxRecordBytes
        self.maxProductIdBytes = maxProductIdBytes
        self.windows = FeatureWindows(windowSeconds: windowSeconds, maxKeys: maxKeys, idleSeconds: idleSeconds)
        self.decoder = RecordDecoder()
    }

    /// Forgets all per-product windows, keeping the model, the limits and the eviction counters.
    /// The event time of a record as ``process(value:key:kafkaTimestamp:now:timings:)`` would see it, without
    /// touching any state; `nil` for records that carry no tick (control messages, bad input).
    public func eventTime(value: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer?, kafkaTimestamp: Double?, now: Double) -> Double? {
        guard value.count <= maxRecordBytes, case .tick(let tick)? = try? decoder.decode(value, key: key, kafkaTimestamp: kafkaTimestamp, now: now) else {
            return nil
        }
        return tick.eventTime
    }

    public mutating func resetWindows() {
        self.windows.removeAll()
        self.labels.removeAll()
    }

    /// Opens a realised-label horizon at the tick of the last ``process(value:key:kafkaTimestamp:now:timings:)``
    /// call, which must have returned a prediction; the scores come from the caller (active and shadow model).
    public mutating func openHorizon(source: RecordSource, first: HorizonScore, second: HorizonScore? = nil) {
        self.labels.openAtLastTick(source: source, first: first, second: second)
    }

    /// Label settings for horizons opened from now on (open ones keep theirs); `nil` stops labelling and
    /// forgets the open horizons.
    public mutating func setLabelSettings(_ settings: LabelSettings?) {
        guard let settings else {
            self.labelsEnabled = false
            self.labels.removeAll()
            return
        }
        self.labels.settings = settings
        self.labelsEnabled = true
    }

    /// Returns and zeroes the counts of horizons dropped without an outcome.
    public mutating func takeLabelExpiries() -> RealisedLabelTracker.ExpiryCounts {
        self.labels.takeExpiries()
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
        var start: UInt64 = timings != nil ? MonotonicClock.nanoseconds() : 0
        let decoded = self.decode(value: value, key: key, kafkaTimestamp: kafkaTimestamp, now: now)
        Self.lap(&start, into: timings, \.decodeNanos)
        return self.process(decoded: decoded, timings: timings, start: start)
    }

    /// The first step of ``process(value:key:kafkaTimestamp:now:timings:)``, which reads no state: the size
    /// check and the decoding. A caller may run it ahead (on another thread, for a later record) and hand the
    /// result to ``process(decoded:timings:)``; the outcome is the same.
    public func decode(
        value: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer?, kafkaTimestamp: Double?, now: Double
    ) -> Result<DecodedRecord, RecordError> {
        guard value.count <= self.maxRecordBytes else {
            return .failure(RecordError(type: .oversize, reason: "record is \(value.count) bytes, limit \(self.maxRecordBytes)"))
        }
        do {
            return .success(try self.decoder.decode(value, key: key, kafkaTimestamp: kafkaTimestamp, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// The rest of ``process(value:key:kafkaTimestamp:now:timings:)`` for a record ``decode(value:key:kafkaTimestamp:now:)``
    /// already decoded; `timings` gets no decode time.
    public mutating func process(decoded: Result<DecodedRecord, RecordError>, timings: UnsafeMutablePointer<StageTimings>?) -> RecordOutcome {
        self.process(decoded: decoded, timings: timings, start: timings != nil ? MonotonicClock.nanoseconds() : 0)
    }

    private mutating func process(
        decoded: Result<DecodedRecord, RecordError>, timings: UnsafeMutablePointer<StageTimings>?, start: UInt64
    ) -> RecordOutcome {
        var start = start
        if self.labelsEnabled { self.labels.beginRecord() }
        let tick: Tick
        switch decoded {
        case .success(.tick(let decoded)):
            tick = decoded
        case .success(.control):
            return .skipped(.noPrice)
        case .failure(let error):
            return .deadLetter(error)
        }
        guard tick.productId.utf8.count <= self.maxProductIdBytes else {
            return .deadLetter(
                RecordError(
                    type: .invalidValue,
                    reason: "product id is \(tick.productId.utf8.count) bytes, limit \(self.maxProductIdBytes)"))
        }

        let updated = self.windows.update(with: tick)
        if self.labelsEnabled { self.observeForLabels(tick) }
        guard let features = updated else {
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

    /// Drops the horizons of products the window update evicted, then lets the tick advance its product's.
    @inline(__always)
    private mutating func observeForLabels(_ tick: Tick) {
        if !self.windows.evictedByLastUpdate.isEmpty {
            for (i, productId) in self.windows.evictedByLastUpdate.enumerated() {
                let reason: HorizonExpiry =
                    i < self.windows.capacityEvictedByLastUpdate ? .capacityEviction : .idleEviction
                self.labels.drop(productId: productId, reason: reason)
            }
        }
        self.labels.observe(productId: tick.productId, eventTime: tick.eventTime, midprice: tick.midprice)
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
