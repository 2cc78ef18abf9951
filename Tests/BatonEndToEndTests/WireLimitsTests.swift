import BatonProto
import BatonRedis
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The wire limits of issue #17 on real `baton-node` processes: silent
/// sockets, slow HTTP clients and a flood of health watchers must neither
/// exhaust the node nor starve its own work.
final class WireLimitsTests: XCTestCase {
    private func call(_ timeout: Duration = .seconds(10)) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    private func withClient<T: Sendable>(_ node: WireNode, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: node.grpcPort), transportSecurity: .plaintext)) {
            try await body($0)
        }
    }

    private func configure(_ client: GRPCClient<HTTP2ClientTransport.Posix>, type: String, handler: String) async throws {
        _ = try await Baton_V1_AdminService.Client(wrapping: client).putTaskConfig(
            .with {
                $0.config = .with {
                    $0.taskType = type
                    $0.executor = "local"
                    $0.endpoint = handler
                    $0.timeoutSeconds = 30
                    $0.maxRetries = 0
                    $0.enabled = true
                }
            },
            options: self.call()
        )
    }

    /// 1,100 silent sockets against a node allowed 1,024 descriptors: it keeps
    /// serving a fresh client, and closes the silent ones within the handshake timeout.
    func testSilentSocketsNeitherExhaustDescriptorsNorLockOutClients() async throws {
        let node = try WireNode(fileLimit: 1024, arguments: ["--grpc-handshake-timeout", "3"])
        defer { node.stop() }
        try await node.waitReady()
        let before = node.openFiles

        let opened = ContinuousClock.now
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for _ in 0..<1100 {
            let socket = WireNode.connectSocket(port: node.grpcPort)
            if socket >= 0 { sockets.append(socket) }
        }
        XCTAssertEqual(sockets.count, 1100, "every silent socket connected")
        let connectedIn = ContinuousClock.now - opened
        let duringFlood = node.openFiles

        // A real client still gets in while the silent sockets are held.
        let type = "wire_noop_\(node.id.suffix(8))"
        let served = ContinuousClock.now
        let created = try await self.withClient(node) { client in
            let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: self.call())
            XCTAssertEqual(health.status, .serving)
            try await self.configure(client, type: type, handler: "noop")
            return try await Baton_V1_TaskService.Client(wrapping: client).createTask(.with { $0.taskType = type }, options: self.call()).task
        }
        XCTAssertFalse(created.taskID.isEmpty)
        let serveTime = ContinuousClock.now - served

        // Every silent socket is closed by the node within the handshake timeout (3 s, plus slack).
        var open = Set(sockets)
        let allClosed = try await TestEnvironment.waitUntil(timeout: .seconds(8), every: .milliseconds(100)) {
            open = open.filter { !WireNode.peerClosed($0) }
            return open.isEmpty
        }
        let closedAfter = ContinuousClock.now - opened
        XCTAssertTrue(allClosed, "\(open.count) silent sockets still open after \(closedAfter)")
        XCTAssertTrue(node.isRunning, "the node survived the flood")
        print("silent sockets: connected in \(connectedIn); node fds before \(before), during flood \(duringFlood), after \(node.openFiles); fresh client served in \(serveTime); all 1100 closed \(closedAfter) after the first connected")
    }

    /// Slowloris: headers sent a byte a second are dropped within the header
    /// timeout; a kept-alive connection left idle is dropped within the idle timeout.
    func testSlowHTTPClientsAreDropped() async throws {
        let node = try WireNode(arguments: ["--http-header-timeout", "2", "--http-idle-timeout", "2"])
        defer { node.stop() }
        try await node.waitReady()

        let slow = WireNode.connectSocket(port: node.httpPort)
        XCTAssertGreaterThanOrEqual(slow, 0)
        defer { close(slow) }
        let started = ContinuousClock.now
        var dropped = false
        for byte in Array("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 20) {
            if WireNode.peerClosed(slow) {
                dropped = true
                break
            }
            var value = byte
            if send(slow, &value, 1, Int32(MSG_NOSIGNAL)) < 0 {
                dropped = true
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let slowLasted = ContinuousClock.now - started
        XCTAssertTrue(dropped, "a slowloris client is still connected after \(slowLasted)")
        XCTAssertLessThan(slowLasted, .seconds(4), "dropped within the 2 s header timeout (plus slack)")

        // The endpoints still answer others.
        XCTAssertTrue(try WireNode.httpGet(port: node.httpPort, path: "/health").hasPrefix("HTTP/1.1 200"))

        // Kept alive after a response, then silent: closed after the idle timeout.
        let idle = WireNode.connectSocket(port: node.httpPort)
        defer { close(idle) }
        let request = Array("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(idle, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        XCTAssertGreaterThan(recv(idle, &buffer, buffer.count, 0), 0, "a response")
        let answered = ContinuousClock.now
        let idleClosed = try await TestEnvironment.waitUntil(timeout: .seconds(6), every: .milliseconds(100)) { WireNode.peerClosed(idle) }
        let idleLasted = ContinuousClock.now - answered
        XCTAssertTrue(idleClosed)
        XCTAssertGreaterThan(idleLasted, .milliseconds(1500), "kept alive for about the idle timeout")
        print("slowloris dropped after \(slowLasted); idle keep-alive closed after \(idleLasted)")
    }
}
