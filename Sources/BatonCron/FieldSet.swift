/// The values one cron field allows, as bits 0...63.
struct FieldSet: Hashable, Sendable {
    var bits: UInt64 = 0

    init() {}

    init(_ values: some Sequence<Int>) {
        for value in values { insert(value) }
    }

    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0 }

    var isEmpty: Bool { bits == 0 }

    var count: Int { bits.nonzeroBitCount }

    /// The smallest allowed value, or nil for an empty set.
    var first: Int? { isEmpty ? nil : bits.trailingZeroBitCount }

    /// The smallest allowed value >= `value`, or nil: one step of the field-wise search.
    func first(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits >> UInt64(max(value, 0))
        return rest == 0 ? nil : max(value, 0) + rest.trailingZeroBitCount
    }

    var values: [Int] { (0..<64).filter(contains) }
}
