import DequeModule
import NIOPosix
import Synchronization

/// A bounded pool of blocking C-library connections.
///
/// Every call into a connection runs on the pool's own `NIOThreadPool`, never on
/// Swift's cooperative pool or a NIO event loop: hiredis and Connector/C block
/// their thread for the whole round trip. The pool holds at most
/// `maxConnections` connections; callers beyond that wait (cancellable) for a
/// free slot, at most `acquireTimeout` when one is set (then `PoolBusyError`).
/// A connection that reports `isBroken` after a call, or while idle, is
/// closed and dropped, so the next caller reconnects through `factory`.
public final class BlockingConnectionPool<Connection: PoolableConnection>: Sendable {
    public typealias Factory = @Sendable () throws -> Connection

    private struct State: ~Copyable {
        var idle: [Connection] = []
        var freeSlots: Int
        /// Callers waiting for a slot, in arrival order, each with the timer
        /// of its acquire timeout (started once it is queued).
        var waiters: Deque<(id: Int, continuation: CheckedContinuation<Void, any Error>, timer: Task<Void, Never>?)> = []
        var nextWaiterID = 0
        var closed = false
    }

    private let factory: Factory
    private let threadPool: NIOThreadPool
    private let state: Mutex<State>
    private let acquireTimeout: Duration?

    public init(maxConnections: Int, acquireTimeout: Duration? = nil, factory: @escaping Factory) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.factory = factory
        self.acquireTimeout = acquireTimeout
        self.threadPool = NIOThreadPool(numberOfThreads: maxConnections)
        self.threadPool.start()
        self.state = Mutex(State(freeSlots: maxConnections))
    }

    /// Runs `body` with one connection, on a pool thread.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        try await self.withLease { lease in try await lease.run(body) }
    }

    /// Holds one connection for several calls (a transaction, a reserved caller).
    public func withLease<T>(
        _ body: (Lease) async throws -> T
    ) async throws -> T {
        try await self.acquireSlot()
        let lease = Lease(pool: self)
        defer { self.release(lease.take()) }
        return try await body(lease)
    }

    /// Closes idle connections and stops the thread pool. Calls made afterwards
    /// fail with `PoolClosedError`.
    public func shutdown() async throws {
        let (idle, waiters) = self.state.withLock { state in
            state.closed = true
            let idle = state.idle
            state.idle.removeAll()
            let waiters = state.waiters
            state.waiters.removeAll()
            return (idle, waiters)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: PoolClosedError())
        }
        if !idle.isEmpty {
            _ = try? await self.threadPool.runIfActive { for connection in idle { connection.close() } }
        }
        try await self.threadPool.shutdownGracefully()
    }

    // MARK: slots

    private func acquireSlot() async throws {
        let waiterID: Int? = try self.state.withLock { state in
            if state.closed { throw PoolClosedError() }
            if state.freeSlots > 0 {
                state.freeSlots -= 1
                return nil
            }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let waiterID else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: SlotOutcome = self.state.withLock { state in
                    if state.closed { return .fail(PoolClosedError()) }
                    if Task.isCancelled { return .fail(CancellationError()) }
                    if state.freeSlots > 0 {
                        state.freeSlots -= 1
                        return .granted
                    }
                    // The timer starts once the waiter is queued, where it can find it.
                    let timer = self.acquireTimeout.map { timeout in
                        Task { [self] in
                            try? await Task.sleep(for: timeout)
                            if !Task.isCancelled { self.expire(waiterID, after: timeout) }
                        }
                    }
                    state.waiters.append((waiterID, continuation, timer))
                    return .waiting
                }
                switch outcome {
                case .granted: continuation.resume()
                case .fail(let error): continuation.resume(throwing: error)
                case .waiting: break
                }
            }
        } onCancel: {
            let cancelled = self.state.withLock { state in
                state.waiters.firstIndex { $0.id == waiterID }.map { state.waiters.remove(at: $0) }
            }
            cancelled?.timer?.cancel()
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives up on a waiter still waiting when its timeout fires.
    private func expire(_ waiterID: Int, after timeout: Duration) {
        let expired = self.state.withLock { state in
            state.waiters.firstIndex { $0.id == waiterID }.map { state.waiters.remove(at: $0) }
        }
        expired?.continuation.resume(throwing: PoolBusyError(waited: timeout))
    }

    private func release(_ connection: Connection?) {
        var toClose: Connection?
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if let connection {
                if connection.isBroken || state.closed {
                    toClose = connection
                } else {
                    state.idle.append(connection)
                }
            }
            if let waiter = state.waiters.popFirst() {
                // The slot passes straight to the next waiter.
                waiter.timer?.cancel()
                return waiter.continuation
            }
            state.freeSlots += 1
            return nil
        }
        if let toClose {
            self.threadPool.submit { _ in toClose.close() }
        }
        waiter?.resume()
    }

    /// An idle connection can go bad while it waits (its server replaced by
    /// a failover): such ones are closed rather than handed out.
    fileprivate func checkOutIdle() -> Connection? {
        let (connection, stale) = self.state.withLock { state -> (Connection?, [Connection]) in
            var stale: [Connection] = []
            while let candidate = state.idle.popLast() {
                if !candidate.isBroken { return (candidate, stale) }
                stale.append(candidate)
            }
            return (nil, stale)
        }
        if !stale.isEmpty {
            self.threadPool.submit { _ in for connection in stale { connection.close() } }
        }
        return connection
    }

    fileprivate func run<T: Sendable>(
        on connection: Connection?,
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> (Connection?, Result<T, any Error>) {
        let factory = self.factory
        let box = ConnectionBox(connection)
        do {
            let result = try await self.threadPool.runIfActive { () -> Result<T, any Error> in
                if box.connection == nil { box.connection = try factory() }
                return Result { try body(box.connection!) }
            }
            return (box.connection, result)
        } catch {
            // Connecting failed, or the work was cancelled before it ran.
            return (box.connection, .failure(error))
        }
    }

    /// One checked-out slot. Its connection is created lazily on a pool thread.
    public final class Lease: @unchecked Sendable {
        private let pool: BlockingConnectionPool
        private var connection: Connection?
        private var started = false

        fileprivate init(pool: BlockingConnectionPool) {
            self.pool = pool
        }

        /// Runs `body` on a pool thread with this lease's connection.
        public func run<T: Sendable>(
            _ body: @escaping @Sendable (Connection) throws -> T
        ) async throws -> T {
            if !self.started {
                self.started = true
                self.connection = self.pool.checkOutIdle()
            }
            let (connection, result) = try await self.pool.run(on: self.connection, body)
            self.connection = connection
            return try result.get()
        }

        fileprivate func take() -> Connection? {
            defer { self.connection = nil }
            return self.connection
        }
    }
}

/// Carries a connection into and out of a thread-pool job.
private final class ConnectionBox<Connection>: @unchecked Sendable {
    var connection: Connection?
    init(_ connection: Connection?) { self.connection = connection }
}

private enum SlotOutcome {
    case granted
    case waiting
    case fail(any Error)
}
