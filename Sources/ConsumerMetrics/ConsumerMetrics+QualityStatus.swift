//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// The status page's "model quality" panel: drift and realised accuracy, read from the same exposition
// `/metrics` serves, so the page and the metrics cannot disagree.
//
//===----------------------------------------------------------------------===//

extension ConsumerMetrics {
    /// Drift (PSI per feature and of the probability, predicted vs reference positive rate) and realised precision,
    /// recall and Brier score per model, for what has data; an empty object before the first figures exist.
    public func qualityStatus() -> StatusValue {
        Self.qualityStatus(snapshot: ExpositionSnapshot(text: self.renderString()))
    }

    static func qualityStatus(snapshot: ExpositionSnapshot) -> StatusValue {
        var members: [(String, StatusValue)] = []
        func add(_ name: String, _ value: Double?) {
            if let value, value.isFinite { members.append((name, .number(value))) }
        }
        add("predicted positive rate", snapshot.value(MetricCatalog.predictedPositiveRate.name))
        add("reference positive rate", snapshot.value(MetricCatalog.referencePositiveRate.name))
        add("prediction PSI", snapshot.value(MetricCatalog.predictionPSI.name))
        for sample in snapshot.all(MetricCatalog.featurePSI.name) {
            add("PSI \(sample.labels["feature"] ?? "?")", sample.value)
        }
        // The confusion matrix per (variant, role) → precision and recall of the realised labels.
        struct Model: Hashable { var variant: String; var role: String }
        var counts: [Model: (tp: Double, fp: Double, fn: Double, labelled: Double)] = [:]
        for sample in snapshot.all(MetricCatalog.realisedOutcomes.name) {
            let model = Model(variant: sample.labels["variant"] ?? "?", role: sample.labels["role"] ?? "?")
            var entry = counts[model] ?? (0, 0, 0, 0)
            switch (sample.labels["predicted"], sample.labels["actual"]) {
            case ("1", "1"): entry.tp += sample.value
            case ("1", "0"): entry.fp += sample.value
            case ("0", "1"): entry.fn += sample.value
            default: break
            }
            entry.labelled += sample.value
            counts[model] = entry
        }
        for (model, entry) in counts.sorted(by: { ($0.key.role, $0.key.variant) < ($1.key.role, $1.key.variant) }) where entry.labelled > 0 {
            let name = "\(model.variant) (\(model.role))"
            members.append(("\(name) labelled outcomes", .int(Int64(entry.labelled))))
            if entry.tp + entry.fp > 0 { add("\(name) realised precision", entry.tp / (entry.tp + entry.fp)) }
            if entry.tp + entry.fn > 0 { add("\(name) realised recall", entry.tp / (entry.tp + entry.fn)) }
            let labels = ["variant": model.variant, "role": model.role]
            if let sum = snapshot.value(MetricCatalog.realisedBrierSum.name, labels),
                let count = snapshot.value(MetricCatalog.realisedBrierCount.name, labels), count > 0
            {
                add("\(name) Brier score", sum / count)
            }
        }
        return .object(members)
    }
}
