import BatonModel
import Foundation

/// The built-in local task types: `echo`, `sleep`, `fail`, `noop`.
public enum BuiltinHandlers {
    public static func register(on local: LocalExecutor) {
        local.register("noop") { _, _ in "" }
        // A task created with args echoes them as they were sent.
        local.register("echo") { context, payload in context.args ?? StringMapJSON.encode(payload) }
        local.register("sleep") { context, payload in
            let millis = Int(payload["ms"] ?? "") ?? 1000
            context.log.info("sleeping \(millis) ms")
            // Task.sleep throws at once when the attempt is cancelled.
            try await Task.sleep(for: .milliseconds(millis))
            return "slept \(millis) ms"
        }
        local.register("fail") { _, payload in
            throw ExecutionFailure(payload["message"] ?? "failed on purpose", retryable: payload["retryable"] == "true")
        }
    }
}
