//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// One named check of a ``HealthReport``.
public struct HealthCheck: Sendable, Hashable {
    /// The check's name, the key in the JSON `checks` object (e.g. `"processing_loop"`).
    public var name: String
    /// Whether the check passes.
    public var ok: Bool
    /// The JSON value: `"ok"` for passing checks, otherwise an operator-readable reason
    /// (e.g. `"stalled 42s"`).
    public var detail: String

    /// Creates a check.
    public init(name: String, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// The result of a liveness or readiness probe, served as
/// `{"status": "ok"|"fail", "checks": {"<name>": "<detail>", …}}` with HTTP 200 or 503.
public struct HealthReport: Sendable, Hashable {
    /// `true` when every check passes.
    public var ok: Bool
    /// The checks, in a stable order (the JSON keys keep this order).
    public var checks: [HealthCheck]
    /// The daemon's mode (`"demo"`, `"run"`), shown in the body when set.
    public var mode: String?

    /// Creates a report; ``ok`` is true exactly when every check passes.
    public init(mode: String? = nil, checks: [HealthCheck]) {
        self.checks = checks
        self.mode = mode
        self.ok = checks.allSatisfy(\.ok)
    }

    /// `"ok"` or `"fail"`.
    public var status: String { self.ok ? "ok" : "fail" }

    /// The HTTP status code a probe endpoint answers with: 200 when ok, else 503.
    public var httpStatusCode: Int { self.ok ? 200 : 503 }

    /// The JSON body, e.g. `{"status":"fail","checks":{"processing_loop":"stalled 42s"}}`
    /// (`{"status":"ok","mode":"demo","checks":{…}}` with a mode).
    public func json() -> String {
        var out = #"{"status":"# + JSONText.quoted(self.status)
        if let mode { out += #","mode":"# + JSONText.quoted(mode) }
        out += #","checks":{"#
        for (index, check) in self.checks.enumerated() {
            if index > 0 { out += "," }
            out += JSONText.quoted(check.name) + ":" + JSONText.quoted(check.detail)
        }
        out += "}}"
        return out
    }
}

/// Minimal JSON string encoding for the probe bodies (no Foundation on the endpoint path).
enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
