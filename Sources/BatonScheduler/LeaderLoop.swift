/// A loop that runs only while this node leads; cancelled when leadership ends.
public protocol LeaderLoop: Sendable {
    var name: String { get }
    func run(term: LeaderState.Term) async throws
}
