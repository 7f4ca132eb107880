//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// GET /status: the status page's data, computed from one rendering of
// /metrics (so the two never disagree) plus the probes, the throughput
// history and the sections other components registered.
//
//===----------------------------------------------------------------------===//

extension ConsumerMetrics {
    /// Adds (or replaces; `nil` removes) a section of `/status`, e.g. the model lifecycle's or the model-quality
    /// figures. `provider` is called on the endpoint's threads at every `/status` request, so it must be quick and
    /// thread-safe. The status page shows a registered section as a panel and nothing for an absent one.
    public func setStatusSection(_ name: String, provider: (@Sendable () -> StatusValue)?) {
        self.statusSections.withLock { sections in
            sections.removeAll { $0.name == name }
            if let provider { sections.append((name, provider)) }
        }
    }

    /// Takes one sample of the processed-records counter for the throughput sparkline (the endpoint calls this
    /// every 5 s). `now` is wall-clock epoch seconds.
    public func sampleThroughput(now: Double) {
        let snapshot = ExpositionSnapshot(text: self.renderString())
        let total = snapshot.value(MetricCatalog.messagesProcessed.name) ?? 0
        self.throughput.withLock { $0.sample(total: total, at: now) }
    }

    /// The `/status` document (see ``StatusValue``); `health` adds readiness and liveness.
    public func status(health: HealthState?, now: Double? = nil) -> StatusValue {
        let now = now ?? MetricsClock.wallSeconds()
        let snapshot = ExpositionSnapshot(text: self.renderString())
        let history = self.throughput.withLock { $0 }
        let sections = self.statusSections.withLock { $0 }
        return Self.status(snapshot: snapshot, history: history, health: health, sections: sections, now: now)
    }

    static func status(
        snapshot: ExpositionSnapshot, history: ThroughputHistory, health: HealthState?,
        sections: [(name: String, provider: @Sendable () -> StatusValue)], now: Double
    ) -> StatusValue {
        typealias C = MetricCatalog
        func count(_ family: MetricCatalog.Family, _ labels: [String: String] = [:]) -> StatusValue {
            snapshot.value(family.name, labels).map { .number($0) } ?? .null
        }
        func byLabel(_ family: MetricCatalog.Family, _ label: String) -> StatusValue {
            .object(
                snapshot.all(family.name)
                    .compactMap { sample in sample.labels[label].map { ($0, StatusValue.number(sample.value)) } }
                    .sorted { $0.0 < $1.0 })
        }
        func latency(_ family: MetricCatalog.Family) -> StatusValue {
            let observations = snapshot.value(family.name + "_count") ?? 0
            return .object([
                ("count", .number(observations)),
                ("p50", snapshot.quantile(0.5, histogram: family.name).map { .number($0) } ?? .null),
                ("p99", snapshot.quantile(0.99, histogram: family.name).map { .number($0) } ?? .null),
            ])
        }
        let predictions = snapshot.all(C.predictions.name)
        let positive = predictions.filter { $0.labels["prediction"] == "1" }.reduce(0) { $0 + $1.value }
        let negative = predictions.filter { $0.labels["prediction"] == "0" }.reduce(0) { $0 + $1.value }
        let model = snapshot.all(C.modelInfo.name).first
        let start = snapshot.value(C.processStartTime.name)
        let lagPartitions = snapshot.all(C.lagRecords.name)
            .sorted { (Int($0.labels["partition"] ?? "") ?? 0) < (Int($1.labels["partition"] ?? "") ?? 0) }
            .map { sample -> StatusValue in
                .object([
                    ("topic", .string(sample.labels["topic"] ?? "")),
                    ("partition", .number(Double(sample.labels["partition"] ?? "") ?? -1)),
                    ("records", .number(sample.value)),
                ])
            }
        var members: [(String, StatusValue)] = [
            ("time", .number(now)),
            ("uptime_seconds", start.map { .number(max(0, now - $0)) } ?? .null),
            ("records", .object([
                ("processed", count(C.messagesProcessed)),
                ("predictions", count(C.predictionsMade)),
                ("rate_per_second", count(C.processingRate)),
                ("inflight", count(C.inflightRecords)),
                ("history", .object([
                    ("interval_seconds", .number(history.intervalSeconds)),
                    ("points", .array(history.points.map { .array([.number($0.time), .number($0.rate)]) })),
                ])),
            ])),
            ("lag", .object([("seconds", count(C.lagSeconds)), ("partitions", .array(lagPartitions))])),
            ("latency", .object([
                ("processing_seconds", latency(C.processingSeconds)),
                ("end_to_end_seconds", latency(C.endToEndSeconds)),
            ])),
            ("errors", byLabel(C.errors, "error_type")),
            ("dead_letters", byLabel(C.dlqRecords, "error_type")),
            ("skips", byLabel(C.recordsSkipped, "reason")),
            ("predictions", .object([
                ("positive", .number(positive)),
                ("negative", .number(negative)),
                ("positive_rate", positive + negative > 0 ? .number(positive / (positive + negative)) : .null),
            ])),
            ("model", .object([
                ("variant", model?.labels["variant"].map { .string($0) } ?? .null),
                ("version", model?.labels["version"].map { .string($0) } ?? .null),
                ("path", model?.labels["path"].map { .string($0) } ?? .null),
                ("loaded", .bool(snapshot.value(C.modelLoaded.name) == 1)),
            ])),
            ("assigned_partitions", count(C.assignedPartitions)),
            ("build", .object(
                (snapshot.all(C.buildInfo.name).first?.labels ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }
            )),
        ]
        if let health {
            let readiness = health.readiness()
            let liveness = health.liveness()
            members.append(("ready", .bool(readiness.ok)))
            members.append(("alive", .bool(liveness.ok)))
            members.append(("checks", .object((liveness.checks + readiness.checks).map { ($0.name, .string($0.detail)) })))
            if let mode = health.mode { members.append(("mode", .string(mode))) }
        }
        members.append(("sections", .object(sections.map { ($0.name, $0.provider()) })))
        return .object(members)
    }
}
