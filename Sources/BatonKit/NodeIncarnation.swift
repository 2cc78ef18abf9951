import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One process's claim token on its node id: where it runs (host, kernel
/// boot, pid namespace) and which process it is (pid and start time, so a
/// recycled pid is not mistaken for it), plus a random nonce.
///
/// It lets a node restarted at once after a crash (kill -9, OOM) take its id
/// back without waiting for the old claim's TTL: when the holder ran on this
/// same kernel and pid namespace, /proc says whether that process still
/// lives. A holder elsewhere cannot be judged from here; `NodePresence`
/// then watches whether its claim is refreshed.
public struct NodeIncarnation: Equatable, CustomStringConvertible, Sendable {
    var host: String
    var boot: String
    var pidNamespace: String
    var pid: Int32
    var startTicks: String
    var nonce: String

    /// This process.
    static func current() -> NodeIncarnation {
        let pid = getpid()
        return NodeIncarnation(
            host: Self.hostName(), boot: Self.bootID(), pidNamespace: Self.pidNamespace(of: "self"), pid: pid,
            startTicks: Self.startTicks(of: pid) ?? "?", nonce: String(UInt64.random(in: 0...UInt64.max), radix: 36)
        )
    }

    /// The token stored in Redis: space-separated fields (none holds a space).
    var token: String { [self.host, self.boot, self.pidNamespace, String(self.pid), self.startTicks, self.nonce].joined(separator: " ") }

    init(host: String, boot: String, pidNamespace: String, pid: Int32, startTicks: String, nonce: String) {
        self.host = host
        self.boot = boot
        self.pidNamespace = pidNamespace
        self.pid = pid
        self.startTicks = startTicks
        self.nonce = nonce
    }

    init?(token: String) {
        let fields = token.split(separator: " ").map(String.init)
        guard fields.count == 6, let pid = Int32(fields[3]) else { return nil }
        self.init(host: fields[0], boot: fields[1], pidNamespace: fields[2], pid: pid, startTicks: fields[4], nonce: fields[5])
    }

    /// Whether the process behind `other` still runs: nil when it ran on
    /// another machine, kernel boot or pid namespace (this process cannot see it).
    func isAlive(_ other: NodeIncarnation) -> Bool? {
        guard other.host == self.host, other.boot == self.boot, !self.boot.isEmpty, other.pidNamespace == self.pidNamespace,
              !self.pidNamespace.isEmpty
        else { return nil }
        if other.pid == self.pid && other.startTicks == self.startTicks { return true }
        // Gone, or the pid now belongs to a process started at another time.
        return Self.startTicks(of: other.pid) == other.startTicks
    }

    /// For log lines and refusals: where the holder runs, never the nonce.
    public var description: String { "pid \(self.pid) on \(self.host)" }

    /// The short host name (`gethostname`), the default node id.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    private static func bootID() -> String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func pidNamespace(of process: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/ns/pid")) ?? ""
    }

    /// Field 22 of /proc/<pid>/stat of a running process: its start time in clock ticks
    /// since boot. The command name (field 2) may hold spaces: read after its ')'.
    static func startTicks(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ')': field 3 (state) is fields[0], so field 22 is fields[19].
        // A zombie (killed, not reaped yet) or dying process is no holder.
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return String(fields[19])
    }
}
