import BatonModel
import BatonProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// Calls `baton.v1.TaskExecutor/Execute` at the type's `host:port`, with the
/// attempt's deadline and the type's headers as metadata, over one pooled
/// client per endpoint. UNAVAILABLE and DEADLINE_EXCEEDED are retryable.
/// Run it as a service: it owns the clients' connections.
public final class GRPCExecutor: TaskExecutor, Service {
    private struct Endpoint {
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        var connections: Task<Void, Never>
    }

    private let endpoints = Mutex<[String: Endpoint]>([:])
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func run() async throws {
        // Nothing to do until shutdown; connections run in their own tasks.
        try? await gracefulShutdown()
        let all = self.endpoints.withLock { endpoints in
            defer { endpoints.removeAll() }
            return Array(endpoints.values)
        }
        for endpoint in all {
            endpoint.client.beginGracefulShutdown()
            await endpoint.connections.value
        }
    }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        let client = try self.client(for: config.endpoint)
        let remaining = context.timeRemaining
        guard remaining > 0 else { throw ExecutionFailure("no time left for the gRPC call", retryable: true) }
        var metadata = Metadata()
        for (name, value) in config.headers { metadata.addString(value, forKey: name.lowercased()) }
        var options = CallOptions.defaults
        // As for HTTP: the worker's timer decides TIMEOUT; this deadline is a backstop.
        options.timeout = .milliseconds(Int64(remaining * 1000) + 500)
        let request = Baton_V1_ExecuteRequest.with {
            $0.taskID = context.taskID
            $0.taskType = context.taskType
            $0.payload = payload
            $0.attempt = Int32(context.attempt)
            $0.deadline = .init(date: context.deadline)
        }
        let response: Baton_V1_ExecuteResponse
        do {
            response = try await Baton_V1_TaskExecutor.Client(wrapping: client).execute(request, metadata: metadata, options: options)
        } catch let error as RPCError {
            if Task.isCancelled { throw CancellationError() }
            let retryable = error.code == .unavailable || error.code == .deadlineExceeded
            throw ExecutionFailure("gRPC \(error.code): \(error.message)", retryable: retryable)
        }
        for line in response.logs { context.log.info(line) }
        guard response.success else {
            throw ExecutionFailure(response.error.isEmpty ? "the service reported failure" : response.error, retryable: response.retryable)
        }
        return response.result
    }

    private func client(for endpoint: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        try self.endpoints.withLock { endpoints in
            if let existing = endpoints[endpoint] { return existing.client }
            guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else {
                throw ExecutionFailure("grpc endpoint \(endpoint) is not host:port", retryable: false)
            }
            let host = String(endpoint[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let client = GRPCClient(
                transport: try .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: .plaintext)
            )
            let connections = Task { [logger] in
                do {
                    try await client.runConnections()
                } catch {
                    logger.warning("gRPC executor client stopped", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                }
            }
            endpoints[endpoint] = Endpoint(client: client, connections: connections)
            return client
        }
    }
}
