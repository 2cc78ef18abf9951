import Foundation

/// What one node runs: the client APIs, a bid for leadership (and the
/// leader's loops when it wins), a worker. Every node has all three unless
/// `--roles` says otherwise; a cluster needs each role on at least one node.
public struct NodeRoles: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// gRPC (TaskService, AdminService, health, reflection), REST and the dashboard.
    public static let api = NodeRoles(rawValue: 1 << 0)
    /// Competes for the leader lock; the leader dispatches, recovers and fires schedules.
    public static let scheduler = NodeRoles(rawValue: 1 << 1)
    /// Registers a worker, heartbeats and runs tasks.
    public static let worker = NodeRoles(rawValue: 1 << 2)

    public static let all: NodeRoles = [.api, .scheduler, .worker]

    /// Names in `--roles` order.
    static let names: [(String, NodeRoles)] = [("api", .api), ("scheduler", .scheduler), ("worker", .worker)]

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `api,scheduler,worker` or any non-empty subset, in any order.
    public init(parsing text: String) throws(ParseError) {
        var roles: NodeRoles = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let role = Self.names.first(where: { $0.0 == name })?.1 else {
                throw ParseError(description: "unknown role \(name): roles are api, scheduler and worker")
            }
            roles.insert(role)
        }
        guard !roles.isEmpty else { throw ParseError(description: "name at least one role of api, scheduler and worker") }
        self = roles
    }

    public var description: String {
        Self.names.filter { self.contains($0.1) }.map(\.0).joined(separator: ",")
    }
}
