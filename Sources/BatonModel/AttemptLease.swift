import Foundation

/// How long an attempt belongs to its worker: its timeout plus a grace for
/// the outcome to reach MySQL. The worker retries an outcome write until the
/// lease ends; the leader's timeout recovery takes the task over after it.
/// One definition, so the two sides never disagree.
public enum AttemptLease {
    public static let grace: TimeInterval = 5

    /// When the lease of an attempt started at `startedAt` ends.
    public static func end(startedAt: Date, timeoutSeconds: Int) -> Date {
        startedAt.addingTimeInterval(TimeInterval(timeoutSeconds) + self.grace)
    }
}
