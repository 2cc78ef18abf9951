import Foundation

extension Date {
    /// This date rounded to whole microseconds: what a DATETIME(6) column
    /// stores, so a value returned before and after a round trip is the same.
    public var roundedToMicroseconds: Date {
        Date(timeIntervalSince1970: (self.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }

    /// Microseconds since 1970: compares a stored DATETIME(6) with a value
    /// written, whatever floating-point rounding each went through.
    public var microseconds: Int64 {
        Int64((self.timeIntervalSince1970 * 1_000_000).rounded())
    }
}

