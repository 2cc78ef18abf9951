import BatonAuth
import BatonBroker
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Rotates API keys and the JWT key without a restart: re-reads the files
/// the flags name on SIGHUP, and when one of them changes (checked every
/// `interval`: inode, size, mtime and ctime (a chmod too), after symlinks, so a Kubernetes secret
/// swapped under its `..data` link counts). A file that no longer reads
/// (half written, a bad line, too open) keeps the keys in force and logs an
/// error that names the problem, never a key.
struct CredentialReloader: Service {
    let authenticator: Authenticator
    let options: NodeOptions
    let clock: ClusterClock
    /// Installed before the node serves: a SIGHUP then never kills it.
    let hangups: UnixSignalsSequence
    let interval: Duration
    let logger: Logger

    var paths: [String] {
        [self.options.apiKeysFile, self.options.jwtHs256SecretFile, self.options.jwtPublicKeyFile].compactMap { $0 }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in self.hangups { await self.reload(because: "SIGHUP") }
                }
                group.addTask {
                    var seen = self.fingerprints()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.interval)
                        let now = self.fingerprints()
                        if now != seen {
                            seen = now
                            await self.reload(because: "a key file changed")
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    func reload(because reason: String) async {
        guard !self.paths.isEmpty else {
            self.logger.notice("\(reason): no key file to reload (the node runs open)")
            return
        }
        do {
            let (keys, tokens) = try await NodeCredentials.credentials(options: self.options, clock: self.clock)
            self.authenticator.replace(keys: keys, tokens: tokens)
            self.logger.notice("\(reason): keys reloaded", metadata: [
                "api_keys": "\(keys.map { String($0.entries.count) } ?? "none")", "jwt": "\(tokens?.algorithm.rawValue ?? "none")",
            ])
        } catch {
            self.logger.error("\(reason): keys not reloaded, the previous ones stay in force", metadata: ["error": "\(error)"])
        }
    }

    /// What identifies each file's current contents without reading it.
    private func fingerprints() -> [String] {
        self.paths.map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return "\(path): missing" }
            return "\(path): \(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
        }
    }
}
