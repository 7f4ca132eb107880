//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// The status page shows the very numbers /metrics exports: /status is computed
// from one rendering of the registry, parsed back, rather than from a second
// set of counters that could drift from the first (swift-prometheus does not
// expose a metric's value). Hand-written because the text format is simple and
// only our own output is parsed.
//
//===----------------------------------------------------------------------===//

/// One rendering of the Prometheus text exposition, as samples.
struct ExpositionSnapshot: Sendable {
    struct Sample: Sendable, Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample]

    init(text: String) {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if let sample = Self.parse(line) { samples.append(sample) }
        }
        self.samples = samples
    }

    /// `name{a="x",b="y"} 12.5` (label values as swift-prometheus renders them: `\\`, `\"`, `\n` escaped).
    static func parse(_ line: Substring) -> Sample? {
        var name = ""
        var labels: [String: String] = [:]
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " {
            name.append(line[index])
            index = line.index(after: index)
        }
        guard !name.isEmpty, index < line.endIndex else { return nil }
        if line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                var key = ""
                while index < line.endIndex, line[index] != "=" {
                    if line[index] != "," { key.append(line[index]) }
                    index = line.index(after: index)
                }
                index = line.index(after: index)  // '='
                guard index < line.endIndex, line[index] == "\"" else { return nil }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { return nil }
                        value.append(line[index] == "n" ? "\n" : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { return nil }
                index = line.index(after: index)  // closing quote
                labels[key] = value
            }
            guard index < line.endIndex else { return nil }
            index = line.index(after: index)  // '}'
        }
        let rest = line[index...].split(separator: " ")
        guard let valueText = rest.first else { return nil }
        let value: Double?
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default: value = Double(valueText)
        }
        guard let value else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    /// The value of the sample `name` whose labels include `labels`; the first match.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in Self.matches(sample, name: name, labels: labels) }?.value
    }

    static func matches(_ sample: Sample, name: String, labels: [String: String]) -> Bool {
        sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
    }

    /// Every sample named `name`.
    func all(_ name: String) -> [Sample] {
        samples.filter { $0.name == name }
    }

    /// `histogram_quantile(q, …)` over one histogram's cumulative `_bucket` series (linear interpolation inside
    /// the bucket, as Prometheus does); `nil` without observations. A quantile in the `+Inf` bucket reports the
    /// highest finite bound.
    func quantile(_ q: Double, histogram name: String, _ labels: [String: String] = [:]) -> Double? {
        let buckets = samples
            .filter { sample in Self.matches(sample, name: name + "_bucket", labels: labels) }
            .compactMap { sample -> (bound: Double, count: Double)? in
                guard let le = sample.labels["le"] else { return nil }
                let bound = le == "+Inf" ? Double.infinity : Double(le)
                return bound.map { ($0, sample.value) }
            }
            .sorted { $0.bound < $1.bound }
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var previousBound = 0.0
        var previousCount = 0.0
        for bucket in buckets {
            if bucket.count >= rank {
                if bucket.bound.isInfinite { return previousBound }
                let inBucket = bucket.count - previousCount
                guard inBucket > 0 else { return bucket.bound }
                return previousBound + (bucket.bound - previousBound) * (rank - previousCount) / inBucket
            }
            previousBound = bucket.bound.isFinite ? bucket.bound : previousBound
            previousCount = bucket.count
        }
        return previousBound
    }
}
