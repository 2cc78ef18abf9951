import Foundation

/// The Redis Cluster of `scripts/redis-cluster.sh`: 3 masters and 3
/// replicas on private loopback ports 7101-7106, failed after 1 s, with a
/// password on every node so that reconnecting to another node exercises
/// AUTH. One test at a time may use them: they are fixed ports.
public struct ClusterServers: Sendable {
    public static let password = "cluster-test-pw"

    public init() {}

    /// What `--redis` takes to reach them (the three first nodes as seeds).
    public var url: String { "redis-cluster://:\(Self.password)@127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103" }

    /// Fresh nodes from empty data; returns once the cluster is ok and every
    /// master has a linked replica (a failover can happen).
    public func start() throws { _ = try self.script("start") }
    public func stop() throws { _ = try self.script("stop") }
    /// Waits until every live node sees the cluster ok again.
    public func waitOK() throws { _ = try self.script("wait-ok") }

    /// The port of the master that holds a namespace's slot (`{namespace}`).
    public func ownerPort(namespace: String) throws -> Int? { Int(try self.script("owner", "{\(namespace)}")) }

    /// kill -9 of the master that holds a namespace's slot; returns its port.
    @discardableResult
    public func killOwner(namespace: String) throws -> Int? { Int(try self.script("kill-owner", "{\(namespace)}")) }

    private func script(_ arguments: String...) throws -> String {
        try TestEnvironment.scriptOutput("redis-cluster.sh", arguments, environment: ["BATON_CLUSTER_REDIS_PASSWORD": Self.password])
    }
}
