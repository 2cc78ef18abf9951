import AsyncHTTPClient
import BatonModel
import Foundation
import NIOCore
import NIOHTTP1

/// POSTs `{"task_id","task_type","payload","attempt"}` to the type's endpoint
/// with `X-Baton-Task-Id`, `X-Baton-Attempt` and the type's headers, within
/// the attempt's remaining time. 2xx is success (a `{"success","data","error"}`
/// envelope is honoured); 5xx, 429, connection errors and timeouts are
/// retryable; other 4xx are not. Redirects are never followed; bodies are
/// capped. Cancelling the attempt cancels the request (the connection closes).
public final class HTTPExecutor: TaskExecutor {
    private let client: HTTPClient
    private let maxResponseBytes: Int

    public init(maxResponseBytes: Int = 1 << 20, maxConnectionsPerHost: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxResponseBytes = maxResponseBytes
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        var body = "{\"task_id\":"
        StringMapJSON.appendQuoted(context.taskID, to: &body)
        body += ",\"task_type\":"
        StringMapJSON.appendQuoted(context.taskType, to: &body)
        body += ",\"payload\":" + StringMapJSON.encode(payload) + ",\"attempt\":\(context.attempt)}"

        var request = HTTPClientRequest(url: config.endpoint)
        request.method = .POST
        for (name, value) in config.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "X-Baton-Task-Id", value: context.taskID)
        request.headers.replaceOrAdd(name: "X-Baton-Attempt", value: String(context.attempt))
        request.body = .bytes(ByteBuffer(string: body))

        let remaining = context.timeRemaining
        guard remaining > 0 else { throw ExecutionFailure("no time left for the HTTP call", retryable: true) }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            // The worker's own timer ends the attempt as TIMEOUT at the deadline;
            // the client's deadline, a little later, is only a backstop.
            response = try await self.client.execute(request, timeout: .milliseconds(Int64(remaining * 1000) + 500))
            bytes = try await response.body.collect(upTo: self.maxResponseBytes)
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
