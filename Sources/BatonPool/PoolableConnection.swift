/// A blocking connection that a `BlockingConnectionPool` can hold.
///
/// Implementations wrap a C client handle. They are only ever used by one
/// thread at a time (the pool guarantees it), hence `@unchecked Sendable`
/// conformances are acceptable for them.
public protocol PoolableConnection: AnyObject, Sendable {
    /// True once the connection hit an I/O or protocol error and must not be reused.
    var isBroken: Bool { get }
    /// Releases the underlying handle. Called once, on a pool thread.
    func close()
}
