import Foundation

/// Task ids are UUIDv7 strings: time-ordered, so new rows append to the
/// primary key and "newest first" is an index order.
public enum TaskID {
    public static func make(now: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> UInt64(8 * (5 - index))) }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 4122 variant
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
        let utf8 = Array(hex.utf8)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(decoding: utf8[$0], as: UTF8.self) }.joined(separator: "-")
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
