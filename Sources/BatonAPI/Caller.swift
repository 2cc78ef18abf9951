/// Who is calling, as authentication established it (for audit lines).
public enum Caller {
    /// The id of the API key of the current RPC; nil when the node runs open.
    @TaskLocal public static var keyID: String?

    static var description: String { Self.keyID.map { "key \($0)" } ?? "an unauthenticated caller" }
}
