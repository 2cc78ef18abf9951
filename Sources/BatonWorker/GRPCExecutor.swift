import BatonModel
import BatonProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// Calls `baton.v1.TaskExecutor/Execute` at the type's endpoint — `host:port`
/// or `grpc://host:port` in plaintext, `grpcs://host:port` over TLS (the
/// system's roots or `trustRootsFile`) — with the attempt's deadline and the
/// type's headers as metadata (and `traceparent`, metadata and field, when
/// the node traces), over one pooled client per endpoint.
/// UNAVAILABLE and DEADLINE_EXCEEDED are retryable. Each client connects to
/// an address `egress` allowed and to no other (an IP target; the name stays
/// the authority, TLS SNI and the name the certificate must carry).
/// Run it as a service: it owns the clients' connections.
public final class GRPCExecutor: TaskExecutor, Service {
    private struct Pinned {
        var address: IPAddress
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        /// A call found the service unavailable: the next moves to the next allowed address.
        var failed = false
    }

    private struct State {
        var clients: [String: Pinned] = [:]
        /// Each client's connections, until they end (a replaced client's end once its calls finish).
        var connections: [Int: Task<Void, Never>] = [:]
        var nextConnectionID = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let egress: EgressGuard
    private let trustRootsFile: String?
    private let logger: Logger

    public init(egress: EgressGuard = EgressGuard(), trustRootsFile: String? = nil, logger: Logger) {
        self.egress = egress
        self.trustRootsFile = trustRootsFile
        self.logger = logger
    }

    public func run() async throws {
        // Nothing to do until shutdown; connections run in their own tasks.
        try? await gracefulShutdown()
        let (clients, connections) = self.state.withLock { state in
            defer { state.clients.removeAll() }
            state.stopped = true
            return (state.clients.values.map(\.client), Array(state.connections.values))
        }
        for client in clients { client.beginGracefulShutdown() }
        for connection in connections { await connection.value }
    }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        // A config can reach the store without the API's checks: parse it here too.
        guard let target = ExecutorTarget.grpc(config.endpoint) else {
            throw ExecutionFailure("\(Endpoint.redacted(config.endpoint)) is not host:port, grpc://host:port or grpcs://host:port", retryable: false)
        }
        let remaining = context.timeRemaining
        guard remaining > 0 else { throw ExecutionFailure("no time left for the gRPC call", retryable: true) }
        let allowed = try await self.egress.addresses(for: target, endpoint: config.endpoint)
        let client = try self.client(for: config.endpoint, target: target, allowed: allowed)
        var metadata = Metadata()
        for (name, value) in config.headers { metadata.addString(value, forKey: name.lowercased()) }
        if let traceparent = context.traceparent { metadata.replaceOrAddString(traceparent, forKey: "traceparent") }
        var options = CallOptions.defaults
        // As for HTTP: the worker's timer decides TIMEOUT; this deadline is a backstop.
        options.timeout = .milliseconds(Int64(remaining * 1000) + 500)
        // Parsed only for a task that has args; our own stored JSON, so a
        // failure is not the attempt's to retry.
        var args: Google_Protobuf_Struct?
        if let text = context.args {
            do {
                args = try Google_Protobuf_Struct(jsonString: text)
            } catch {
                throw ExecutionFailure("the task's args are not a JSON object: \(error)", retryable: false)
            }
        }
        let request = Baton_V1_ExecuteRequest.with {
            $0.taskID = context.taskID
            $0.taskType = context.taskType
            $0.payload = payload
            $0.attempt = Int32(context.attempt)
            $0.deadline = .init(date: context.deadline)
            $0.dependencyResults = context.dependencyResults
            if let args { $0.args = args }
            if let traceparent = context.traceparent { $0.traceparent = traceparent }
        }
        let response: Baton_V1_ExecuteResponse
        do {
            response = try await Baton_V1_TaskExecutor.Client(wrapping: client).execute(request, metadata: metadata, options: options)
        } catch let error as RPCError {
            if Task.isCancelled { throw CancellationError() }
            if error.code == .unavailable { self.state.withLock { $0.clients[config.endpoint]?.failed = true } }
            let retryable = error.code == .unavailable || error.code == .deadlineExceeded
            throw ExecutionFailure("gRPC \(error.code): \(error.message)", retryable: retryable)
        }
        for line in response.logs { context.log.info(line) }
        guard response.success else {
            throw ExecutionFailure(response.error.isEmpty ? "the service reported failure" : response.error, retryable: response.retryable)
        }
        return response.result
    }

    /// The endpoint's client, kept while its address stays allowed; else a
    /// new one at the first allowed address, or at the next one after a call
    /// found the service unavailable (the old client finishes its calls).
    private func client(for endpoint: String, target: ExecutorTarget, allowed: [IPAddress]) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        try self.state.withLock { state in
            var address = allowed[0]
            if let current = state.clients[endpoint], let index = allowed.firstIndex(of: current.address) {
                guard current.failed, allowed.count > 1 else { return current.client }
                address = allowed[(index + 1) % allowed.count]
            }
            guard !state.stopped else { throw ExecutionFailure("the gRPC executor is stopping", retryable: true) }
            let client: GRPCClient<HTTP2ClientTransport.Posix>
            do {
                client = GRPCClient(transport: try self.transport(to: address, for: target))
            } catch {
                throw ExecutionFailure("gRPC client for \(Endpoint.redacted(endpoint)): \(error)", retryable: false)
            }
            let shown = Endpoint.redacted(endpoint)
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            // Added under the lock it takes to remove itself: it cannot end before it is added.
            state.connections[id] = Task { [logger] in
                do {
                    try await client.runConnections()
                } catch {
                    logger.warning("gRPC executor client stopped", metadata: ["endpoint": "\(shown)", "error": "\(error)"])
                }
                _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
            }
            state.clients.updateValue(Pinned(address: address, client: client), forKey: endpoint)?.client.beginGracefulShutdown()
            return client
        }
    }

    private func transport(to address: IPAddress, for target: ExecutorTarget) throws -> HTTP2ClientTransport.Posix {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        // A name stays the authority: TLS sends it as SNI and checks the certificate against it.
        if target.literalAddress == nil { config.http2.authority = "\(target.host):\(target.port)" }
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if target.usesTLS {
            let roots = self.trustRootsFile
            security = .tls { tls in
                if let roots { tls.trustRoots = .certificates([.file(path: roots, format: .pem)]) }
            }
        } else {
            security = .plaintext
        }
        let resolvable: any ResolvableTarget =
            switch address {
            case .v4: .ipv4(address: address.description, port: target.port)
            case .v6: .ipv6(address: address.description, port: target.port)
            }
        return try HTTP2ClientTransport.Posix(target: resolvable, transportSecurity: security, config: config)
    }
}
