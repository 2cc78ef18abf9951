import BatonClient
import BatonProto
import BatonTestSupport
import Foundation

/// The three-node cluster of `scripts/cluster.sh`, from the debug build the
/// tests were built with.
enum ClusterFixture {
    static let nodes = ["server-1", "server-2", "server-3"]

    static func port(_ node: String) -> Int { 9090 + Int(node.split(separator: "-").last!)! }

    /// The node of a worker id `<node>-worker-<incarnation>`.
    static func node(ofWorker workerID: String) -> String {
        String(workerID[..<(workerID.range(of: "-worker-")?.lowerBound ?? workerID.endIndex)])
    }

    static func script(_ arguments: [String]) throws {
        let status = try ChildProcess.run(
            "/bin/bash",
            [TestEnvironment.repositoryRoot.appendingPathComponent("scripts/cluster.sh").path] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(["BATON_BUILD": "debug", "BATON_SKIP_BUILD": "1"]) { $1 }
        )
        guard status == 0 else { throw TestEnvironment.ScriptError(description: "cluster.sh \(arguments.joined(separator: " ")) exited \(status)") }
    }

    static func pid(_ node: String) throws -> Int32 {
        let path = TestEnvironment.repositoryRoot.appendingPathComponent(".run/pids/\(node).pid").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// kill -9: no graceful stop, no lock release, no deregistration.
    static func crash(_ node: String) throws {
        let pid = try self.pid(node)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        // The node is the script's grandchild, not ours: wait for it to vanish.
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
        _ = waitpid(pid, &status, WNOHANG)
        try? FileManager.default.removeItem(atPath: TestEnvironment.repositoryRoot.appendingPathComponent(".run/pids/\(node).pid").path)
    }

    static func client<T: Sendable>(_ node: String, _ body: @Sendable (BatonClient) async throws -> T) async throws -> T {
        try await withBatonClient(host: "127.0.0.1", port: self.port(node), body)
    }

    static func stats(via node: String) async throws -> Baton_V1_GetStatsResponse {
        try await self.client(node) { try await $0.stats() }
    }

    /// The node that leads now, seen through `via`.
    static func leader(via node: String) async throws -> (node: String, epoch: Int64) {
        let stats = try await self.stats(via: node)
        return (stats.leaderNodeID, stats.leaderEpoch)
    }

    static func configure(_ config: Baton_V1_TaskConfig, via node: String = "server-1") async throws {
        _ = try await self.client(node) { try await $0.admin.putTaskConfig(.with { $0.config = config }) }
    }
}
