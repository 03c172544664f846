/// Why a calendar expression was refused, and where: `column` is 1-based in the expression.
public struct CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    public let column: Int
    public let reason: String

    public var description: String {
        let scalars = Array(expression.unicodeScalars)
        let at = min(max(column - 1, 0), scalars.count)
        let rest = String(String.UnicodeScalarView(scalars[at...]))
        let place = rest.isEmpty ? "at the end" : "at '\(rest)' (column \(column))"
        return "invalid calendar expression '\(expression)' \(place): \(reason)"
    }
}

extension CalendarSpec {
    /// Parses `text` as systemd does (`calendar_spec_from_string`); whatever systemd refuses is
    /// refused here too, with the part that is wrong.
    public static func parse(_ text: String) throws(CalendarError) -> CalendarSpec {
        var parser = CalendarParser(original: text)
        return try parser.parse()
    }
}

private struct CalendarParser {
    let original: String
    /// The expression's bytes, without a time-zone suffix once one is found.
    var bytes: [UInt8]
    var index = 0
    var spec = CalendarSpec()
    /// Where each field's text starts (byte offsets), to point at an out-of-range value.
    var fieldStarts: [String: Int] = [:]

    init(original: String) {
        self.original = original
        bytes = Array(original.utf8)
    }

    func fail(_ reason: String, at position: Int? = nil) -> CalendarError {
        let offset = position ?? index
        let column = String(decoding: bytes[..<min(offset, bytes.count)], as: UTF8.self).unicodeScalars.count + 1
        return CalendarError(expression: original, column: column, reason: reason)
    }

    var current: UInt8 { index < bytes.count ? bytes[index] : 0 }
    func byte(at offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0 }

    mutating func parse() throws(CalendarError) -> CalendarSpec {
        splitTimeZone()
        if bytes.isEmpty { throw fail("the expression is empty") }
        let lowered = String(decoding: bytes, as: UTF8.self).lowercased()
        if var shorthand = Self.shorthand(lowered) {
            shorthand.utc = spec.utc
            shorthand.timezone = spec.timezone
            spec = shorthand
        } else {
            try parseWeekdays()
            let dateWasTimestamp = try parseDate()
            if !dateWasTimestamp { try parseTime() }
            if index < bytes.count { throw fail("unexpected text after the time") }
        }
        spec.normalize()
        if let field = spec.invalidField() {
            let key = String(field.prefix { $0 != " " })
            throw fail("out of range: \(field)", at: fieldStarts[key] ?? 0)
        }
        return spec
    }

    /// ` UTC` or ` Zone/Name` at the end.
    mutating func splitTimeZone() {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.count >= 4, text.suffix(4).uppercased() == " UTC" {
            spec.utc = true
            bytes = Array(text.utf8.dropLast(4))
            return
        }
        if let space = bytes.lastIndex(of: UInt8(ascii: " ")) {
            let name = String(decoding: bytes[(space + 1)...], as: UTF8.self)
            if ZoneRules.named(name) != nil {
                spec.timezone = name
                bytes = Array(bytes[..<space])
            }
        }
    }

    /// `minutely`, `daily`, … as the fields they stand for; nil for anything else.
    static func shorthand(_ name: String) -> CalendarSpec? {
        let zero = CalendarSpec.Component(start: 0), one = CalendarSpec.Component(start: 1)
        var spec = CalendarSpec()
        switch name {
        case "minutely":
            spec.microsecond = [zero]
            return spec
        case "hourly":
            spec.minute = [zero]
            spec.microsecond = [zero]
            return spec
        case "daily": break
        case "monthly": spec.day = [one]
        case "weekly": spec.weekdays = 1
        case "yearly", "annually", "anually":
            spec.month = [one]
            spec.day = [one]
        case "quarterly":
            spec.month = [one, .init(start: 4), .init(start: 7), .init(start: 10)]
            spec.day = [one]
        case "semiannually", "semi-annually", "biannually", "bi-annually":
            spec.month = [one, .init(start: 7)]
            spec.day = [one]
        default:
            return nil
        }
        spec.hour = [zero]
        spec.minute = [zero]
        spec.microsecond = [zero]
        return spec
    }

    static let weekdayNames: [(String, Int)] = [
        ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2), ("thursday", 3), ("thu", 3),
        ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5), ("sunday", 6), ("sun", 6),
    ]

    mutating func parseWeekdays() throws(CalendarError) {
        var rangeStart = -1
        var first = true
        var weekdays = 0
        while true {
            let rest = String(decoding: bytes[index...], as: UTF8.self).lowercased()
            guard let (name, number) = Self.weekdayNames.first(where: { rest.hasPrefix($0.0) }) else {
                if first { return }
                throw fail("expected a weekday name (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
            }
            let after = byte(at: index + name.utf8.count)
            guard [0, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: " ")].contains(after) else {
                throw fail("unknown weekday: write Mon, Tue, Wed, Thu, Fri, Sat or Sun")
            }
            weekdays |= 1 << number
            if rangeStart >= 0 {
                if rangeStart > number { throw fail("a weekday range must go forward, Monday to Sunday (Sat..Sun, not Sun..Sat)") }
                for day in (rangeStart + 1)..<max(number, rangeStart + 1) { weekdays |= 1 << day }
            }
            spec.weekdays = weekdays
            index += name.utf8.count
            if current == 0 { return }
            if current == UInt8(ascii: " ") {
                skipSpaces()
                return
            }
            if current == UInt8(ascii: ".") {
                if rangeStart >= 0 { throw fail("a weekday range has one '..'") }
                if byte(at: index + 1) != UInt8(ascii: ".") { throw fail("write a weekday range with '..' (Mon..Fri)") }
                rangeStart = number
                index += 2
            } else if current == UInt8(ascii: "-") {
                if rangeStart >= 0 { throw fail("a weekday range has one '-'") }
                rangeStart = number
                index += 1
            } else if current == UInt8(ascii: ",") {
                rangeStart = -1
                index += 1
            }
            if current == 0 || current == UInt8(ascii: " ") {
                skipSpaces()
                if rangeStart >= 0 { throw fail("the weekday range is not closed") }
                return
            }
            first = false
        }
    }

    mutating func skipSpaces() {
        while current == UInt8(ascii: " ") { index += 1 }
    }

    /// Returns true when the date was an `@TIMESTAMP`, which leaves no time to parse.
    mutating func parseDate() throws(CalendarError) -> Bool {
        if current == 0 { return false }
        if current == UInt8(ascii: "@") {
            index += 1
            guard let value = parseNumber() else { throw fail("expected seconds since the epoch after '@'") }
            let tm = BrokenDownTime(localSeconds: Int64(value))
            spec.utc = true
            spec.year = [.init(start: tm.year)]
            spec.month = [.init(start: tm.month + 1)]
            spec.day = [.init(start: tm.day)]
            spec.hour = [.init(start: tm.hour)]
            spec.minute = [.init(start: tm.minute)]
            spec.microsecond = [.init(start: tm.second * CalendarSpec.microsecondsPerSecond)]
            return true
        }
        let start = index
        let first = try parseChain(usec: false)
        let secondStart = index + 1
        if current == 0 || current == UInt8(ascii: ":") {
            // That was an hour: the expression is a time without a date.
            index = start
            return false
        }
        if current == UInt8(ascii: "~") {
            spec.endOfMonth = true
        } else if current != UInt8(ascii: "-") {
            throw fail("expected '-' between the parts of the date (YYYY-MM-DD), or ':' in a time")
        }
        index += 1
        let second = try parseChain(usec: false)
        if current == 0 || current == UInt8(ascii: " ") {
            skipSpaces()
            spec.month = first
            spec.day = second
            fieldStarts["month"] = start
            fieldStarts["day"] = secondStart
            return false
        } else if spec.endOfMonth {
            throw fail("'~' comes between month and day, last in the date (*-02~03)")
        }
        if current == UInt8(ascii: "~") {
            spec.endOfMonth = true
        } else if current != UInt8(ascii: "-") {
            throw fail("expected '-' or '~' before the day")
        }
        index += 1
        let thirdStart = index
        let third = try parseChain(usec: false)
        if current != 0 && current != UInt8(ascii: " ") { throw fail("expected a space between the date and the time") }
        skipSpaces()
        spec.year = first
        spec.month = second
        spec.day = third
        fieldStarts["year"] = start
        fieldStarts["month"] = secondStart
        fieldStarts["day"] = thirdStart
        return false
    }

    mutating func parseTime() throws(CalendarError) {
        if current == 0 {
            spec.hour = [.init(start: 0)]
            spec.minute = [.init(start: 0)]
            spec.microsecond = [.init(start: 0)]
            return
        }
        fieldStarts["hour"] = index
        let hour = try parseChain(usec: false)
        if current != UInt8(ascii: ":") { throw fail("expected ':' between hour and minute") }
        index += 1
        fieldStarts["minute"] = index
        let minute = try parseChain(usec: false)
        var second: [CalendarSpec.Component] = [.init(start: 0)]
        if current != 0 {
            if current != UInt8(ascii: ":") { throw fail("expected ':' between minute and second") }
            index += 1
            fieldStarts["second"] = index
            second = try parseChain(usec: true)
            if current != 0 { throw fail("unexpected text after the seconds") }
        }
        spec.hour = hour
        spec.minute = minute
        spec.microsecond = second
    }

    mutating func parseChain(usec: Bool) throws(CalendarError) -> [CalendarSpec.Component] {
        if current == UInt8(ascii: "*") {
            index += 1
            return usec ? [.init(start: 0, repeatEvery: CalendarSpec.microsecondsPerSecond)] : []
        }
        var chain: [CalendarSpec.Component] = []
        while true {
            if chain.count > 240 { throw fail("too many values in one list") }
            chain.insert(try parseComponent(usec: usec), at: 0)
            guard current == UInt8(ascii: ",") else { return chain }
            index += 1
        }
    }

    mutating func parseComponent(usec: Bool) throws(CalendarError) -> CalendarSpec.Component {
        let begin = index
        let start = try parseDecimal(usec: usec)
        var stop = -1
        var repeatEvery = 0
        if current == UInt8(ascii: "."), byte(at: index + 1) == UInt8(ascii: ".") {
            index += 2
            stop = try parseDecimal(usec: usec)
            repeatEvery = usec ? CalendarSpec.microsecondsPerSecond : 1
        }
        if current == UInt8(ascii: "/") {
            index += 1
            let at = index
            repeatEvery = try parseDecimal(usec: usec)
            if repeatEvery == 0 { throw fail("a repetition cannot be 0", at: at) }
        } else {
            if start > Int(Int32.max) - repeatEvery { throw fail("the number is too large", at: begin) }
            if usec && stop >= 0 && start + repeatEvery > stop {
                throw fail("a range of seconds needs a repetition when it is shorter than a second", at: begin)
            }
        }
        guard [0, UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: ":")].contains(current) else {
            throw fail("unexpected character in a number, range (a..b) or repetition (a/b)")
        }
        return .init(start: start, stop: stop, repeatEvery: repeatEvery)
    }

    mutating func parseNumber() -> UInt64? {
        var value: UInt64 = 0
        let begin = index
        while current >= UInt8(ascii: "0") && current <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(current - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = next
            index += 1
        }
        return index > begin ? value : nil
    }

    mutating func parseDecimal(usec: Bool) throws(CalendarError) -> Int {
        let begin = index
        guard current >= UInt8(ascii: "0") && current <= UInt8(ascii: "9") else {
            if index == 0 {
                throw fail("not a calendar expression: expected a weekday (Mon), a date (*-*-* or 2026-04-01), a time (06:30) or a shorthand (daily, weekly, …)")
            }
            throw fail("expected a number or '*'")
        }
        guard var value = parseNumber() else { throw fail("the number is too large", at: begin) }
        if usec {
            let (scaled, overflow) = value.multipliedReportingOverflow(by: UInt64(CalendarSpec.microsecondsPerSecond))
            if overflow { throw fail("the number is too large", at: begin) }
            value = scaled
            if current == UInt8(ascii: "."), byte(at: index + 1) != UInt8(ascii: ".") {
                index += 1
                guard current >= UInt8(ascii: "0") && current <= UInt8(ascii: "9") else { throw fail("expected digits after the decimal point") }
                var fraction: UInt64 = 0
                for _ in 0..<6 {
                    if current >= UInt8(ascii: "0") && current <= UInt8(ascii: "9") {
                        fraction = fraction * 10 + UInt64(current - UInt8(ascii: "0"))
                        index += 1
                    } else {
                        fraction *= 10
                    }
                }
                if current >= UInt8(ascii: "5") && current <= UInt8(ascii: "9") { fraction += 1 }
                while current >= UInt8(ascii: "0") && current <= UInt8(ascii: "9") { index += 1 }
                value += fraction
            }
        }
        if value > UInt64(Int32.max) { throw fail("the number is too large", at: begin) }
        return Int(value)
    }
}
