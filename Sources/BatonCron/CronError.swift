import Foundation

/// Why a cron expression (or its time zone) was refused: which part, the text of that part,
/// and why, e.g. `hour field "25": 25 is out of range 0-23`.
///
/// The description is written for the person who typed the expression, so an API can
/// return it as is.
public struct CronError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    public let field: CronField
    /// The text of that field as written (the whole expression for `.expression`).
    public let text: String
    /// Why, without the field: `25 is out of range 0-23`.
    public let reason: String

    public init(field: CronField, text: String, reason: String) {
        self.field = field
        self.text = text
        self.reason = reason
    }

    public var description: String { "\(field.label) \"\(text)\": \(reason)" }

    // Foundation's `localizedDescription` would otherwise say "The operation could not be
    // completed" on Linux, and handlers tend to log that.
    public var errorDescription: String? { description }
}
