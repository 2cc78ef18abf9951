import Foundation

/// Task ids are UUIDv7 strings: time-ordered, so new rows append to the
/// primary key and "newest first" is an index order.
public enum TaskID {
    public static func make(now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var generator = SystemRandomNumberGenerator()
        let random = (generator.next() as UInt64, generator.next() as UInt16)
        // 48 bits of time, version 7, 12 random bits, the RFC 4122 variant, 62 random bits.
        let high = millis << 16 | 0x7000 | UInt64(random.1 & 0x0FFF)
        let low = 0x8000_0000_0000_0000 | (random.0 & 0x3FFF_FFFF_FFFF_FFFF)
        // Written straight into the string's storage: one allocation, no
        // intermediate arrays (this runs for every task created).
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var at = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[at] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    at += 1
                }
            }
            func dash() {
                buffer[at] = UInt8(ascii: "-")
                at += 1
            }
            put(high >> 32, nibbles: 8)
            dash()
            put(high >> 16, nibbles: 4)
            dash()
            put(high, nibbles: 4)
            dash()
            put(low >> 48, nibbles: 4)
            dash()
            put(low, nibbles: 12)
            return at
        }
    }

    /// The smallest id of a task made in `date`'s millisecond (rounded as
    /// `rounding` says): ids sort by creation time, so a time range is an id
    /// range on an index. For "created at or after t" take ids ≥ the bound
    /// rounded down; for "created before t", ids < the bound rounded up (then
    /// compare created_at itself: the bound is as coarse as a millisecond).
    public static func bound(at date: Date, rounding: FloatingPointRoundingRule) -> String {
        let millis = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(rounding)))
        let hex = String(millis, radix: 16)
        let time = String(repeating: "0", count: max(0, 12 - hex.count)) + hex.suffix(12)
        return "\(time.prefix(8))-\(time.suffix(4))-0000-0000-000000000000"
    }

    /// True for the canonical 36-character lowercase or uppercase UUID shape.
    public static func isWellFormed(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (index, byte) in utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !byte.isHexDigit {
                return false
            }
        }
        return true
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "f"))
            || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "F"))
    }
}
