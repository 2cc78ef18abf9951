/// One field of a cron expression: the values it may be written with, the values `*`
/// stands for, its names, and the parser of its text (lists, ranges, steps).
struct FieldSpec: Sendable {
    let field: CronField
    /// What may be written: the day of week also takes 7 for Sunday.
    let written: ClosedRange<Int>
    /// What `*` stands for, and the cycle a wrapping range (`FRI-MON`, `22-2`) wraps in.
    let cycle: ClosedRange<Int>
    /// Three-letter names, case-insensitive; the first is worth `cycle.lowerBound`.
    let names: [String]

    static let second = FieldSpec(field: .second, written: 0...59, cycle: 0...59, names: [])
    static let minute = FieldSpec(field: .minute, written: 0...59, cycle: 0...59, names: [])
    static let hour = FieldSpec(field: .hour, written: 0...23, cycle: 0...23, names: [])
    static let dayOfMonth = FieldSpec(field: .dayOfMonth, written: 1...31, cycle: 1...31, names: [])
    static let month = FieldSpec(
        field: .month, written: 1...12, cycle: 1...12,
        names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
    static let dayOfWeek = FieldSpec(
        field: .dayOfWeek, written: 0...7, cycle: 0...6,
        names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])

    private var isDayOfWeek: Bool { field == .dayOfWeek }

    /// The values of `text`: a comma-separated list of `*`, `v`, `a-b`, `*/n`, `a-b/n` or
    /// `a/n` (= `a-max/n`). A range whose start is after its end wraps round the cycle
    /// (`22-2` in hours is 22,23,0,1,2; a step counts on across the wrap), as croniter does.
    func parse(_ text: String) throws(CronError) -> FieldSet {
        func refuse(_ reason: String) -> CronError { CronError(field: field, text: text, reason: reason) }
        // Quartz/Jenkins extensions the contract does not name: say so rather than "not a number".
        if text.contains("?") {
            throw refuse("\"?\" is not supported; write \"*\" for any value")
        }
        if text.contains("#") {
            throw refuse("\"#\" (nth weekday of the month) is not supported; write days of the week as 0-7 or SUN-SAT, with ranges, lists and steps")
        }
        if text.contains("(") || text.uppercased() == "H" || text.uppercased().hasPrefix("H/") {
            throw refuse("\"H\" (hashed values) is not supported; write the values")
        }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        var set = FieldSet()
        for item in items {
            if item.isEmpty {
                throw refuse("the list has an empty item; separate values with single commas, e.g. 1,15")
            }
            if item == "*", items.count > 1 {
                throw refuse("\"*\" cannot be one item of a list; write \"*\" alone, or list the values")
            }
            try add(String(item), to: &set, refuse: refuse)
        }
        return set
    }

    private func add(_ item: String, to set: inout FieldSet, refuse: (String) -> CronError) throws(CronError) {
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw refuse("\"\(item)\" has more than one \"/\"") }
        var step = 1
        if parts.count == 2 {
            let stepText = parts[1]
            guard !stepText.isEmpty, stepText.allSatisfy(\.isASCIIDigit), stepText.count <= 4 else {
                throw refuse("the step after \"/\" in \"\(item)\" must be a whole number, e.g. */5")
            }
            step = Int(stepText)!
            guard step >= 1 else { throw refuse("the step in \"\(item)\" must be at least 1") }
            guard step <= cycle.count else {
                throw refuse("the step \(step) in \"\(item)\" is larger than the \(cycle.count) values \(cycle.lowerBound)-\(cycle.upperBound) of this field")
            }
        }
        let base = String(parts[0])
        if base == "*" {
            insert(from: cycle.lowerBound, through: cycle.upperBound, step: step, into: &set)
            return
        }
        if base.contains("-") {
            let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2, !bounds[0].isEmpty, !bounds[1].isEmpty else {
                throw refuse("\"\(base)\" is not a range; write start-end, e.g. \(cycle.lowerBound)-\(cycle.lowerBound + 4) (negative numbers are not allowed)")
            }
            let start = try value(String(bounds[0]), refuse: refuse)
            let end = try value(String(bounds[1]), refuse: refuse)
            insert(from: start, through: end, step: step, into: &set)
            return
        }
        let start = try value(base, refuse: refuse)
        if parts.count == 2 {
            // `a/n` runs from a to the end of the cycle (croniter; 7/n in days of week is Sunday on).
            insert(from: isDayOfWeek && start == 7 ? 0 : start, through: cycle.upperBound, step: step, into: &set)
        } else {
            set.insert(isDayOfWeek && start == 7 ? 0 : start)
        }
    }

    /// `start` through `end` every `step`, wrapping round the cycle when start > end.
    private func insert(from start: Int, through end: Int, step: Int, into set: inout FieldSet) {
        if start <= end {
            // In days of week this is where 7 (Sunday) can end a range: 5-7, 0-7, 1-7/2.
            for value in stride(from: start, through: end, by: step) {
                set.insert(isDayOfWeek && value == 7 ? 0 : value)
            }
            return
        }
        let start = isDayOfWeek && start == 7 ? 0 : start  // 7-3 is SUN-WED
        if start <= end {
            for value in stride(from: start, through: end, by: step) { set.insert(value) }
            return
        }
        let size = cycle.count
        let length = end - start + size
        for offset in stride(from: 0, through: length, by: step) {
            set.insert(cycle.lowerBound + (start - cycle.lowerBound + offset) % size)
        }
    }

    private func value(_ text: String, refuse: (String) -> CronError) throws(CronError) -> Int {
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            let number = text.count <= 4 ? Int(text)! : Int.max
            guard written.contains(number) else {
                let shown = text.count <= 4 ? String(number) : text
                let sunday = isDayOfWeek ? " (0 and 7 are Sunday)" : ""
                throw refuse("\(shown) is out of range \(written.lowerBound)-\(written.upperBound)\(sunday)")
            }
            return number
        }
        let upper = text.uppercased()
        if let index = names.firstIndex(of: upper) { return cycle.lowerBound + index }
        if field == .dayOfMonth || isDayOfWeek {
            let digitsAround = upper.filter { $0 != "L" && $0 != "W" }.allSatisfy(\.isASCIIDigit)
            if upper.contains("L"), digitsAround {
                throw refuse("\"L\" (last day) is not supported; the contract allows numbers\(isDayOfWeek ? ", names" : ""), ranges, lists and steps")
            }
            if field == .dayOfMonth, upper.contains("W"), digitsAround {
                throw refuse("\"W\" (nearest weekday) is not supported; the contract allows numbers, ranges, lists and steps")
            }
        }
        if names.isEmpty {
            throw refuse("\"\(text)\" is not a number")
        }
        let kind = isDayOfWeek ? "day" : "month"
        throw refuse("\"\(text)\" is not a number or a \(kind) name (\(names.first!)-\(names.last!))")
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
