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
    public static func run(_ path: String, _ arguments: [String], environment: [String: String], output: String? = nil) throws -> Int32 {
        let pid = try self.spawn(path, arguments, environment: environment, output: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid failed: errno \(errno)") }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Starts a program in the background, its stdout and stderr appended to
    /// `output`; returns its pid (the caller stops it).
    public static func start(_ path: String, _ arguments: [String], environment: [String: String], output: String) throws -> pid_t {
        try self.spawn(path, arguments, environment: environment, output: output)
    }

    private static func spawn(_ path: String, _ arguments: [String], environment: [String: String], output: String?) throws -> pid_t {
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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw SpawnError(description: "cannot run \(path): errno \(spawned)") }
        return pid
    }
}
