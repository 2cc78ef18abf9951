import Foundation

extension Date {
    /// This date rounded to whole microseconds: what a DATETIME(6) column
    /// stores, so a value returned before and after a round trip is the same.
    public var roundedToMicroseconds: Date {
        Date(timeIntervalSince1970: (self.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }
}
