import Synchronization

/// The port actually bound (for port 0).
final class PortBox: Sendable {
    private let value = Mutex<Int?>(nil)
    func set(_ port: Int) { self.value.withLock { $0 = port } }
    var port: Int? { self.value.withLock { $0 } }
}
