/// A start-up refusal that waiting will not cure (Redis may evict keys,
/// another live node holds this id): the node stops with this message.
public struct NodeStartError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
