import BatonClient
import BatonProto

extension WireNode {
    /// Makes `type` an http task type of this node's cluster that calls
    /// `endpoint` (10 s timeout, 3 retries): what the failover tests load.
    func putHTTPType(_ type: String, endpoint: String) async throws {
        try await withBatonClient(host: "127.0.0.1", port: self.grpcPort) { client in
            _ = try await client.admin.putTaskConfig(.with {
                $0.config = .with {
                    $0.taskType = type
                    $0.executor = "http"
                    $0.endpoint = endpoint
                    $0.timeoutSeconds = 10
                    $0.maxRetries = 3
                    $0.enabled = true
                }
            })
        }
    }
}
