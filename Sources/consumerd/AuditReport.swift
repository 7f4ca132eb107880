import Foundation

/// What `consumerd audit` found: per input offset, the expected outcome against what the topics hold.
struct AuditReport: Codable, Sendable {
    /// Counts of each kind and the first few `partition:offset` of each.
    struct Kind: Codable, Sendable {
        var count = 0
        var first: [String] = []

        mutating func add(_ partition: Int32, _ offset: Int64, limit: Int = 10) {
            count += 1
            if first.count < limit { first.append("\(partition):\(offset)") }
        }
    }

    /// The models outputs were checked against (`variant version (path)`).
    var models: [String] = []
    var inputs = 0
    var expectedPredictions = 0
    var expectedDeadLetters = 0
    var expectedSkips = 0
    var outputs = 0
    var deadLetterRecords = 0
    /// Outputs marked `"shadow": true` found on the output topic: a shadow model's, not audited.
    var shadowOutputs = 0
    /// Outputs carrying `"fallback_reason"` (scored by the baseline after an ML failure; checked as such).
    var fallbackOutputs = 0
    /// An expected prediction or dead letter that is on no output topic.
    var lost = Kind()
    /// An expected prediction or dead letter that is on no output topic because retention deleted the part of
    /// the output partition it was written to (see ``RetentionEvidence``); not a loss.
    var truncated = Kind()
    /// Of `truncated`: decided by the partition holding nothing of the input partition any more (a loss there
    /// could not have been seen).
    var truncatedUnverifiable = 0
    /// Extra copies of an output (at-least-once repeats of an uncommitted tail).
    var duplicated = Kind()
    /// An output whose features, probability, decision, variant or error type differ from the replay.
    var mismatched = Kind()
    /// An output naming a model (`model_variant`, `model_version`) the audit was not given.
    var unknownModel = Kind()
    /// An expected prediction dead-lettered as `model_error` (the model failed on it; no replay can reproduce it).
    var modelErrors = Kind()
    /// Inputs with more distinct output copies than the audit compares (two); the others were counted only.
    var uncheckedCopies = Kind()
    /// An output for an input that should have been skipped.
    var unexpected = Kind()
    /// Outputs that name an input offset the input topic no longer holds (retention).
    var orphaned = Kind()
    /// Partitions whose first input offset is above 0: the broker dropped older input (retention), so the replay
    /// starts with less history than the daemon had and its first minute of outputs cannot be checked exactly.
    var truncatedPartitions: [String] = []
    /// Output and dead-letter partitions whose oldest records retention deleted, as `partition from low`.
    var truncatedOutputPartitions: [String] = []
    var truncatedDeadLetterPartitions: [String] = []

    /// Whether nothing was lost or mismatched (also written to the JSON report).
    var ok: Bool { lost.count == 0 && mismatched.count == 0 && unexpected.count == 0 && unknownModel.count == 0 }
    var passed = false

    func text() -> String {
        func line(_ name: String, _ kind: Kind) -> String {
            "\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(kind.count)"
                + (kind.first.isEmpty ? "" : "  first: \(kind.first.joined(separator: ", "))")
        }
        func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
        return """
            models       \(list(models))
            inputs       \(inputs) (predictions \(expectedPredictions), dead letters \(expectedDeadLetters), skips \(expectedSkips))
            outputs      \(outputs) predictions (\(fallbackOutputs) by fallback), \(deadLetterRecords) dead letters, \(shadowOutputs) shadow ignored
            \(line("lost", lost))
            \(line("truncated", truncated))\(truncatedUnverifiable > 0 ? "  (\(truncatedUnverifiable) where nothing of the input partition survived)" : "")
            \(line("duplicated", duplicated))
            \(line("mismatched", mismatched))
            \(line("unknown", unknownModel))\(unknownModel.count > 0 ? "  (outputs naming a model not given: --model/--baseline)" : "")
            \(line("model errors", modelErrors))
            \(line("unexpected", unexpected))
            \(line("orphaned", orphaned))
            \(uncheckedCopies.count > 0 ? line("unchecked", uncheckedCopies) + "\n" : "")retention    input \(list(truncatedPartitions)); outputs \(list(truncatedOutputPartitions)); dead letters \(list(truncatedDeadLetterPartitions))
            result       \(ok ? "OK: nothing lost or mismatched" : "FAILED")
            """
    }
}
