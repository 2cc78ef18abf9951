import NIOConcurrencyHelpers
import NIOCore

/// At most `limit` gRPC connections open at once, counted from accept (a TLS
/// handshake in progress counts). At the cap a newcomer takes the place of the
/// oldest connection still in its handshake (a silent or stalled socket), so a
/// flood of silent sockets cannot lock real clients out; when every open
/// connection is established the newcomer is closed instead.
public final class ConnectionCap: Sendable {
    public let limit: Int

    private struct Entry {
        var order: UInt64
        var channel: any Channel
        /// Active and still in its handshake: may make way for a newcomer.
        /// (Not before it is active: closing a channel NIO has not registered
        /// yet fails the accept, and with it the listener.)
        var evictable = false
        var pending = true
    }

    private struct State {
        var open: [ObjectIdentifier: Entry] = [:]
        var pendingCount = 0
        var next: UInt64 = 0
        var refused = 0
        var evicted = 0
    }

    private let state = NIOLockedValueBox(State())

    public init(limit: Int) {
        precondition(limit >= 1)
        self.limit = limit
    }

    /// Admits a just-accepted channel; false when it must be closed. May close
    /// an older pending channel to make room.
    func admit(_ channel: any Channel) -> Bool {
        let evicted: (any Channel)? = self.state.withLockedValue { state in
            var victim: (any Channel)?
            if state.open.count >= self.limit {
                guard state.pendingCount > 0, let oldest = state.open.filter({ $0.value.pending && $0.value.evictable }).min(by: { $0.value.order < $1.value.order }) else {
                    state.refused += 1
                    return nil as (any Channel)?
                }
                state.open[oldest.key] = nil
                state.pendingCount -= 1
                state.evicted += 1
                victim = oldest.value.channel
            }
            state.next += 1
            state.open[ObjectIdentifier(channel)] = Entry(order: state.next, channel: channel)
            state.pendingCount += 1
            return victim ?? channel
        }
        guard let evicted else { return false }
        if evicted !== channel { evicted.close(mode: .all, promise: nil) }
        return true
    }

    /// The channel is active: from now on it may be evicted while pending.
    func activated(_ channel: any Channel) {
        self.state.withLockedValue { state in
            state.open[ObjectIdentifier(channel)]?.evictable = true
        }
    }

    /// The channel finished its handshake: it no longer makes way for newcomers.
    func established(_ channel: any Channel) {
        self.state.withLockedValue { state in
            let id = ObjectIdentifier(channel)
            guard state.open[id]?.pending == true else { return }
            state.open[id]?.pending = false
            state.pendingCount -= 1
        }
    }

    /// The channel closed (idempotent; an evicted channel was already dropped).
    func release(_ channel: any Channel) {
        self.state.withLockedValue { state in
            guard let entry = state.open.removeValue(forKey: ObjectIdentifier(channel)) else { return }
            if entry.pending { state.pendingCount -= 1 }
        }
    }

    /// Open connections now, and how many were refused or evicted so far.
    public var counts: (open: Int, refused: Int, evicted: Int) {
        self.state.withLockedValue { ($0.open.count, $0.refused, $0.evicted) }
    }
}
