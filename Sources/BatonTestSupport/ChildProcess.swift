#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn.
///
/// Foundation's `Process` hands its child the test thread's blocked signal
/// mask and its `waitUntilExit` can hang once the child leaves a daemon
/// behind; this resets the mask and signal dispositions and waits with waitpid.
public enum ChildProcess {
    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Returns the exit status (128 + signal when killed).
    @discardableResult
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]) throws -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, path, nil, &attributes, argv, envp)
        guard spawned == 0 else { throw SpawnError(description: "cannot run \(path): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid failed: errno \(errno)") }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
