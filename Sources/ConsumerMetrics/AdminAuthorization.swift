//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// Checks `Authorization: Bearer <token>` against the configured token in constant time (the time taken does
/// not depend on how many leading bytes match, so the token cannot be guessed byte by byte). I/O-free.
public struct AdminAuthorization: Sendable {
    private let token: [UInt8]

    public init(token: [UInt8]) {
        self.token = token
    }

    /// Whether `header` (the `Authorization` value, or `nil` when absent) carries the token.
    public func allows(_ header: String?) -> Bool {
        guard let header else { return false }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix.lowercased() else { return false }
        return Self.constantTimeEquals(Array(header.utf8.dropFirst(prefix.utf8.count)), token)
    }

    /// Compares every byte of the longer input whatever the first difference; the length difference is folded
    /// into the result rather than returned early.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && !b.isEmpty
    }
}
