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
        var i = 0

        func number(_ width: Int) -> Int? {
            guard i + width <= count else { return nil }
            var value = 0
            for k in 0..<width {
                let d = p[i + k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                value = value * 10 + Int(d)
            }
            i += width
            return value
        }
        func take(_ c: UInt8) -> Bool {
            guard i < count, p[i] == c else { return false }
            i += 1
            return true
        }

        guard let year = number(4), take(UInt8(ascii: "-")),
            let month = number(2), take(UInt8(ascii: "-")),
            let day = number(2)
        else { return nil }
        guard i < count, p[i] == UInt8(ascii: "T") || p[i] == UInt8(ascii: "t") || p[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = number(2), take(UInt8(ascii: ":")), let minute = number(2) else { return nil }
        var second = 0
        var micros = 0
        if take(UInt8(ascii: ":")) {
            guard let s = number(2) else { return nil }
            second = s
            if take(UInt8(ascii: ".")) || take(UInt8(ascii: ",")) {
                var digits = 0
                while i < count, p[i] &- UInt8(ascii: "0") < 10 {
                    if digits < 6 { micros = micros * 10 + Int(p[i] &- UInt8(ascii: "0")) }
                    digits += 1
                    i += 1
                }
                guard digits > 0 else { return nil }
                for _ in min(digits, 6)..<6 { micros *= 10 }
            }
        }
        var offsetSeconds = 0
        if i < count {
            let c = p[i]
            if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                i += 1
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                i += 1
                guard let oh = number(2), oh < 24 else { return nil }
                var om = 0
                if i < count {
                    _ = take(UInt8(ascii: ":"))
                    guard let m = number(2), m < 60 else { return nil }
                    om = m
                }
                offsetSeconds = (oh * 3600 + om * 60) * (c == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
        }
        guard i == count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= self.daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }

        let days = self.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Double(seconds * 1_000_000 + micros) / 1e6
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
