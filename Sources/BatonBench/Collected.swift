import Synchronization

/// A value that concurrent benchmark callers add to.
final class Collected<Value: Sendable>: Sendable {
    private let state: Mutex<Value>

    init(_ initial: Value) {
        self.state = Mutex(initial)
    }

    func update(_ body: (inout Value) -> Void) {
        self.state.withLock { body(&$0) }
    }

    var value: Value { self.state.withLock { $0 } }
}
