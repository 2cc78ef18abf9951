/// How many WatchTask streams a node holds open: in all, and per API key
/// (a node without keys has only the first).
public struct WatchLimits: Sendable {
    public var perNode: Int
    public var perKey: Int

    public init(perNode: Int = 10_000, perKey: Int = 1_000) {
        self.perNode = perNode
        self.perKey = perKey
    }
}
