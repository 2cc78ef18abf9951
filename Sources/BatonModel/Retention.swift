import Foundation

/// How long finished tasks of a type are kept: the type's own
/// `retention_hours`, or the cluster's default where that is 0 (or the type
/// is gone); 0 hours keeps them for ever.
public struct Retention: Sendable, Equatable {
    public let defaultHours: Int

    public init(defaultHours: Int) {
        self.defaultHours = defaultHours
    }

    /// Hours kept for a type whose config says `typeHours` (nil: no config).
    public func hours(typeHours: Int?) -> Int {
        if let typeHours, typeHours > 0 { return typeHours }
        return self.defaultHours
    }

    /// Tasks last changed before this are due; nil when kept for ever.
    public func cutoff(typeHours: Int?, now: Date) -> Date? {
        let hours = self.hours(typeHours: typeHours)
        return hours > 0 ? now.addingTimeInterval(-Double(hours) * 3600) : nil
    }
}
