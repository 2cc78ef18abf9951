#if canImport(Glibc)
import Glibc
#endif

/// hiredis and Connector/C write with plain `write`/`send`: a write to a
/// socket the server closed must fail with EPIPE, not kill the process.
public enum BrokenPipe {
    private static let ignored: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Ignores SIGPIPE process-wide (once).
    public static func ignore() { _ = Self.ignored }
}
