import AsyncHTTPClient
import BatonModel
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// POSTs `{"task_id","task_type","payload","attempt"}` (and `"args"` for a
/// task created with typed arguments, `"dependency_results"` for a task with
/// dependencies) to the type's endpoint
/// with `X-Baton-Task-Id`, `X-Baton-Attempt` (and `traceparent` when the
/// node traces) and the type's headers, within
/// the attempt's remaining time. 2xx is success (a `{"success","data","error"}`
/// envelope is honoured); 5xx, 429, connection errors and timeouts are
/// retryable; other 4xx are not. Redirects are never followed; bodies are
/// capped. Cancelling the attempt cancels the request (the connection closes).
/// The call goes only to an address `egress` allowed (`PinnedHTTPClients`);
/// https verifies the host's certificate against the system's roots or
/// `trustRootsFile`.
public final class HTTPExecutor: TaskExecutor {
    private let clients: PinnedHTTPClients
    private let egress: EgressGuard
    private let maxResponseBytes: Int

    public init(
        egress: EgressGuard = EgressGuard(), trustRootsFile: String? = nil, maxResponseBytes: Int = 1 << 20, maxConnectionsPerHost: Int = 64
    ) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        if let trustRootsFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(trustRootsFile)
            configuration.tlsConfiguration = tls
        }
        self.clients = PinnedHTTPClients(configuration: configuration)
        self.egress = egress
        self.maxResponseBytes = maxResponseBytes
    }

    public func shutdown() async throws {
        try await self.clients.shutdown()
    }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        // A config can reach the store without the API's checks: parse it here too.
        guard let target = ExecutorTarget.http(config.endpoint) else {
            throw ExecutionFailure("\(Endpoint.redacted(config.endpoint)) is not an http:// or https:// URL", retryable: false)
        }
        var body = "{\"task_id\":"
        StringMapJSON.appendQuoted(context.taskID, to: &body)
        body += ",\"task_type\":"
        StringMapJSON.appendQuoted(context.taskType, to: &body)
        body += ",\"payload\":" + StringMapJSON.encode(payload) + ",\"attempt\":\(context.attempt)"
        // The stored JSON object as it is: no parse, no re-encoding.
        if let args = context.args { body += ",\"args\":" + args }
        // Only tasks with dependencies carry their results (task id -> result).
        if !context.dependencyResults.isEmpty { body += ",\"dependency_results\":" + StringMapJSON.encode(context.dependencyResults) }
        body += "}"

        var request = HTTPClientRequest(url: config.endpoint)
        request.method = .POST
        for (name, value) in config.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "X-Baton-Task-Id", value: context.taskID)
        request.headers.replaceOrAdd(name: "X-Baton-Attempt", value: String(context.attempt))
        if let traceparent = context.traceparent { request.headers.replaceOrAdd(name: "traceparent", value: traceparent) }
        request.body = .bytes(ByteBuffer(string: body))

        let remaining = context.timeRemaining
        guard remaining > 0 else { throw ExecutionFailure("no time left for the HTTP call", retryable: true) }
        let allowed = try await self.egress.addresses(for: target, endpoint: config.endpoint)
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            // The worker's own timer ends the attempt as TIMEOUT at the deadline;
            // the client's deadline, a little later, is only a backstop.
            (response, bytes) = try await self.clients.withClient(for: target, allowed: allowed) { [maxResponseBytes] client in
                let response = try await client.execute(request, timeout: .milliseconds(Int64(remaining * 1000) + 500))
                return (response, try await response.body.collect(upTo: maxResponseBytes))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NIOTooManyBytesError {
            throw ExecutionFailure("response body larger than \(self.maxResponseBytes) bytes (\(error))", retryable: false)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ExecutionFailure("HTTP call to \(Endpoint.redacted(config.endpoint)) failed: \(error)", retryable: true)
        }
        let text = String(buffer: bytes)
        let code = Int(response.status.code)
        switch code {
        case 200..<300:
            return try Self.result(of: text)
        case 429, 500..<600:
            throw ExecutionFailure("HTTP \(code): \(text.prefix(512))", retryable: true)
        case 300..<400:
            throw ExecutionFailure("HTTP \(code): redirects are not followed", retryable: false)
        default:
            throw ExecutionFailure("HTTP \(code): \(text.prefix(512))", retryable: false)
        }
    }

    /// The body, or the envelope's `data` (JSON text unless a string); `success: false` fails.
    static func result(of text: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let success = object["success"] as? Bool else {
            return text
        }
        guard success else {
            let message = object["error"] as? String ?? "the service reported failure"
            throw ExecutionFailure(message, retryable: object["retryable"] as? Bool ?? false)
        }
        switch object["data"] {
        case nil, is NSNull: return ""
        case let string as String: return string
        case let value?:
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
