import Logging

/// Start-up steps that wait for the stores rather than crash: nodes may
/// start before MySQL and Redis do. A `NodeStartError` is final.
enum StartupWait {
    static func until(_ what: String, logger: Logger, _ attempt: () async throws -> Void) async throws {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await attempt()
                return
            } catch let error as NodeStartError {
                throw error
            } catch {
                logger.warning("\(what) not reachable yet; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
