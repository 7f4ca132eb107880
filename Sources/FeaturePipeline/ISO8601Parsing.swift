/// Allocation-free parsing of the ISO 8601 / RFC 3339 timestamps that Coinbase puts in `time`.
///
/// Accepted: `YYYY-MM-DD` `T` (or `t` or a space) `HH:MM[:SS[.fraction]]` followed by `Z`/`z`, `±HH:MM`,
/// `±HHMM` or `±HH`; without a zone designator the time is taken as UTC. Fractions beyond microseconds are
/// truncated, and the result is `micros / 1e6` like Python's `datetime.timestamp()`, so both agree bit for
/// bit. Calendar fields are range-checked (including the month's length and leap years); leap seconds
/// (`:60`) are rejected as Python does.
enum ISO8601Parsing {
    /// - Returns: epoch seconds, or `nil` if the text is not such a timestamp.
    static func epochSeconds(_ p: UnsafePointer<UInt8>, count: Int) -> Double? {
        var c = Cursor(p: p, count: count)
        guard let year = c.number(4), c.take(UInt8(ascii: "-")),
            let month = c.number(2), c.take(UInt8(ascii: "-")),
            let day = c.number(2)
        else { return nil }
        guard c.take(UInt8(ascii: "T")) || c.take(UInt8(ascii: "t")) || c.take(UInt8(ascii: " ")) else { return nil }
        guard let hour = c.number(2), c.take(UInt8(ascii: ":")), let minute = c.number(2) else { return nil }
        var second = 0
        var micros = 0
        if c.take(UInt8(ascii: ":")) {
            guard let s = c.number(2) else { return nil }
            second = s
            if c.take(UInt8(ascii: ".")) || c.take(UInt8(ascii: ",")) {
                var digits = 0
                while c.i < count, p[c.i] &- UInt8(ascii: "0") < 10 {
                    if digits < 6 { micros = micros * 10 + Int(p[c.i] &- UInt8(ascii: "0")) }
                    digits += 1
                    c.i += 1
                }
                guard digits > 0 else { return nil }
                for _ in min(digits, 6)..<6 { micros *= 10 }
            }
        }
        var offsetSeconds = 0
        if c.i < count {
            let sign = p[c.i]
            if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") {
                c.i += 1
            } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                c.i += 1
                guard let oh = c.number(2), oh < 24 else { return nil }
                var om = 0
                if c.i < count {
                    _ = c.take(UInt8(ascii: ":"))
                    guard let m = c.number(2), m < 60 else { return nil }
                    om = m
                }
                offsetSeconds = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
        }
        guard c.i == count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= self.daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }

        let days = self.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Double(seconds * 1_000_000 + micros) / 1e6
    }

    /// A read position in the text. (A value type with mutating methods rather than nested functions
    /// capturing a `var`, which would cost a dynamic exclusivity check on every access.)
    private struct Cursor {
        let p: UnsafePointer<UInt8>
        let count: Int
        var i = 0

        /// Reads exactly `width` decimal digits.
        @inline(__always)
        mutating func number(_ width: Int) -> Int? {
            guard self.i + width <= self.count else { return nil }
            var value = 0
            for k in 0..<width {
                let d = self.p[self.i + k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                value = value * 10 + Int(d)
            }
            self.i += width
            return value
        }

        /// Consumes `c` if it is the next byte.
        @inline(__always)
        mutating func take(_ c: UInt8) -> Bool {
            guard self.i < self.count, self.p[self.i] == c else { return false }
            self.i += 1
            return true
        }
    }

    private static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return self.isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
