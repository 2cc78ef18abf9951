import Logging

/// Tries an operation until it works, with a backoff that doubles from
/// `first` to `cap` between tries: the worker's writes that must land
/// (start statements, outcomes, acknowledgements) and its reads that must
/// answer (a type's configuration) while MySQL or Redis restarts. It gives up
/// when the task is cancelled, when the caller says so after a failure, or
/// when the next try would begin past `lease` (the time the work belongs to
/// this worker). Each retry is logged through the logger passed in.
///
/// The first try costs what a plain call does: nothing is allocated or
/// awaited beyond the operation until it fails.
struct LeaseRetry: Sendable {
    let first: Duration
    let cap: Duration
    let logger: Logger
    /// Waits between tries (injectable: the tests count the waits instead).
    var sleep: @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    /// The clock `lease` is read on.
    var now: @Sendable () -> ContinuousClock.Instant = { .now }

    init(first: Duration, cap: Duration, logger: Logger) {
        self.first = first
        self.cap = cap
        self.logger = logger
    }

    /// Runs `operation` until it returns, and returns its value; nil when it
    /// gave up. After each failure `failed` sees the error first (to note a
    /// try whose answer was lost, or put work back) and returns false to give
    /// up; then the retry is logged as `message` with `metadata`, the wait
    /// (`retry_in`) and the error.
    @discardableResult
    func run<T>(
        _ message: @autoclosure () -> Logger.Message,
        level: Logger.Level = .warning,
        metadata: @autoclosure () -> Logger.Metadata = [:],
        until lease: ContinuousClock.Instant? = nil,
        _ operation: () async throws -> T,
        failed: (any Error) -> Bool = { _ in true }
    ) async -> T? {
        var backoff = self.first
        while true {
            do {
                return try await operation()
            } catch {
                guard failed(error), !Task.isCancelled else { return nil }
                if let lease, self.now() + backoff >= lease { return nil }
                var fields = metadata()
                fields["retry_in"] = "\(backoff)"
                fields["error"] = "\(error)"
                self.logger.log(level: level, message(), metadata: fields)
                await self.sleep(backoff)
                backoff = min(backoff * 2, self.cap)
            }
        }
    }
}
