import Foundation

/// Helpers for reading `JSONSerialization` output in model and configuration files (not the hot path).
enum JSONValues {
    /// Whether an `NSNumber` from `JSONSerialization` came from a JSON `true`/`false`.
    static func isBool(_ number: NSNumber) -> Bool {
        // JSON booleans come back as NSNumbers of type "c" (char); JSON numbers never do.
        String(cString: number.objCType) == "c"
    }

    /// A JSON array of numbers (or booleans) as doubles, or `nil` if any element is not a number.
    static func doubles(_ value: Any?) -> [Double]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Double] = []
        out.reserveCapacity(array.count)
        for element in array {
            guard let number = element as? NSNumber else { return nil }
            out.append(number.doubleValue)
        }
        return out
    }

    /// A JSON array of integers, or `nil` if any element is not an integral number.
    static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(array.count)
        for element in array {
            guard let number = element as? NSNumber else { return nil }
            let d = number.doubleValue
            guard d.rounded() == d, abs(d) < 1e15 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    /// A number given either as a JSON number or as a string holding one (optionally `[x]`-bracketed, as
    /// XGBoost writes `base_score`).
    static func lenientNumber(_ value: Any?) -> Double? {
        if let number = value as? NSNumber { return number.doubleValue }
        guard var text = value as? String else { return nil }
        text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = String(text.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            if let comma = text.firstIndex(of: ",") { text = String(text[..<comma]) }
        }
        return Double(text)
    }
}
