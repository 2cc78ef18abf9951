import BatonPool
import Logging
import Synchronization

/// Where a node's connections go in a Redis Cluster (`redis-cluster://`).
///
/// Baton keeps every key of a namespace in one slot (`{<namespace>}` hash
/// tag), so all its commands go to one master: the router keeps that one
/// address (the target) rather than a slot table. It learns it from the
/// first MOVED reply, and follows the next MOVED after a failover or a
/// resharding: the target changes, the generation grows, and every
/// connection opened to the old target reports itself broken, so each pool
/// of the node moves over at once (as with Sentinel). A connection that got
/// the MOVED reconnects in place and runs the command again: a MOVED
/// command did not run.
///
/// A new connection tries the target first, then every other node known
/// (the URL's seeds, nodes named by MOVED, the cluster's node list read
/// once): with the target dead, any live node answers MOVED to the new owner
/// once the replicas elected one (until then, CLUSTERDOWN or a MOVED to the
/// dead node: the call fails as unavailable and its caller retries).
public final class ClusterRouter: Sendable {
    public let url: ClusterURL

    private struct State {
        /// Every node known, seeds first.
        var nodes: [ConnectionURL.Endpoint]
        /// The master of the namespace's slot, once a MOVED named it (or the
        /// node that answered without one).
        var target: ConnectionURL.Endpoint?
        var generation = 0
        /// Whether the cluster's node list has been read.
        var learned = false
        var logger: Logger?
    }

    private let state: Mutex<State>

    public init(url: ClusterURL) {
        self.url = url
        self.state = Mutex(State(nodes: url.seeds))
    }

    /// Opens a connection to the target, or else to the first known node
    /// that answers. Blocks its thread: only a pool's own threads call it.
    func connect(configuration: RedisConfiguration, logger: Logger) throws(RedisError) -> RedisConnection {
        let (order, learned) = self.state.withLock { state in
            state.logger = logger
            return ((state.target.map { [$0] } ?? []) + state.nodes.filter { $0 != state.target }, state.learned)
        }
        var failures: [String] = []
        for node in order {
            do {
                let connection = try RedisConnection(configuration: Self.direct(configuration, node))
                if !learned { self.learn(from: connection) }
                connection.follow(self, generation: self.generation)
                return connection
            } catch {
                logger.debug("Redis Cluster node did not answer", metadata: ["node": "\(node)", "error": "\(error.message)"])
                failures.append("\(node): \(error.message)")
            }
        }
        throw RedisError(.connectionFailed, "no Redis Cluster node answered: \(failures.joined(separator: "; "))")
    }

    var generation: Int { self.state.withLock { $0.generation } }

    /// A MOVED reply named `node` as the slot's master: it becomes the
    /// target (logged when it changes). Returns the generation now.
    func moved(to node: ConnectionURL.Endpoint) -> Int {
        let (previous, generation, changed, logger) = self.state.withLock { state in
            if !state.nodes.contains(node) { state.nodes.append(node) }
            let previous = state.target
            guard previous != node else { return (previous, state.generation, false, state.logger) }
            state.target = node
            state.generation += 1
            return (previous, state.generation, true, state.logger)
        }
        if changed, let previous {
            logger?.warning(
                "Redis Cluster slot moved (failover or resharding): following it to its new master",
                metadata: ["from": "\(previous)", "to": "\(node)"]
            )
        } else if changed {
            logger?.info("Redis Cluster master of this namespace's slot found", metadata: ["master": "\(node)"])
        }
        return generation
    }

    /// The configuration of a direct connection to `node`.
    static func direct(_ configuration: RedisConfiguration, _ node: ConnectionURL.Endpoint) -> RedisConfiguration {
        var direct = configuration
        direct.host = node.host
        direct.port = node.port ?? 6379
        direct.cluster = nil
        return direct
    }

    /// Adds every node of `CLUSTER NODES` to those known, so that the node
    /// follows the cluster even once every seed of its URL is gone.
    private func learn(from connection: RedisConnection) {
        guard let text = (try? connection.send(RedisCommand("CLUSTER", "NODES")))?.string else { return }
        // `<id> <ip>:<port>@<cport>[,<hostname>] <flags> …`, one line per node.
        let nodes: [ConnectionURL.Endpoint] = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 2, !fields[2].contains("noaddr"), !fields[2].contains("fail") else { return nil }
            let address = fields[1].prefix { $0 != "@" }
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
            let host = address[..<colon]
            return host.isEmpty ? nil : ConnectionURL.Endpoint(host: String(host), port: port)
        }
        self.state.withLock { state in
            for node in nodes where !state.nodes.contains(node) { state.nodes.append(node) }
            state.learned = true
        }
    }
}

extension ClusterRouter: RedisTopology {}
