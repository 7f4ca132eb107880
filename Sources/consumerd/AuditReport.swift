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

    var inputs = 0
    var expectedPredictions = 0
    var expectedDeadLetters = 0
    var expectedSkips = 0
    var outputs = 0
    var deadLetterRecords = 0
    /// An expected prediction or dead letter that is on no output topic.
    var lost = Kind()
    /// Extra copies of an output (at-least-once repeats of an uncommitted tail).
    var duplicated = Kind()
    /// An output whose features, probability, decision, variant or error type differ from the replay.
    var mismatched = Kind()
    /// An output for an input that should have been skipped.
    var unexpected = Kind()
    /// Outputs that name an input offset the input topic no longer holds (retention).
    var orphaned = Kind()
    /// Partitions whose first input offset is above 0: the broker dropped older input (retention), so the replay
    /// starts with less history than the daemon had and its first minute of outputs cannot be checked exactly.
    var truncatedPartitions: [String] = []

    /// Whether nothing was lost or mismatched (also written to the JSON report).
    var ok: Bool { lost.count == 0 && mismatched.count == 0 && unexpected.count == 0 }
    var passed = false

    func text() -> String {
        func line(_ name: String, _ kind: Kind) -> String {
            "\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(kind.count)"
                + (kind.first.isEmpty ? "" : "  first: \(kind.first.joined(separator: ", "))")
        }
        return """
            inputs       \(inputs) (predictions \(expectedPredictions), dead letters \(expectedDeadLetters), skips \(expectedSkips))
            outputs      \(outputs) predictions, \(deadLetterRecords) dead letters
            \(line("lost", lost))
            \(line("duplicated", duplicated))
            \(line("mismatched", mismatched))
            \(line("unexpected", unexpected))
            \(line("orphaned", orphaned))
            truncated    \(truncatedPartitions.isEmpty ? "none" : truncatedPartitions.joined(separator: ", "))
            result       \(ok ? "OK: nothing lost or mismatched" : "FAILED")
            """
    }
}
