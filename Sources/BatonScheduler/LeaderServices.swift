import Logging
import ServiceLifecycle

/// Runs the leader-only loops (dispatcher, promoter, recoverers) while this
/// node leads, and cancels them the moment it stops leading.
public struct LeaderServices: Service {
    private let state: LeaderState
    private let loops: [any LeaderLoop]
    private let logger: Logger

    public init(state: LeaderState, loops: [any LeaderLoop], logger: Logger) {
        self.state = state
        self.loops = loops
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var running: Task<Void, Never>?
            for await term in self.state.changes() {
                running?.cancel()
                await running?.value
                running = nil
                guard let term else { continue }
                running = Task {
                    await withDiscardingTaskGroup { group in
                        for loop in self.loops {
                            group.addTask { await self.keepRunning(loop, term: term) }
                        }
                    }
                }
            }
            // Shutting down: stop leading work before the elector releases the lock.
            running?.cancel()
            await running?.value
        }
    }

    /// A loop that fails (Redis or MySQL away) starts again after a pause, for as long as the term lasts.
    private func keepRunning(_ loop: any LeaderLoop, term: LeaderState.Term) async {
        while !Task.isCancelled {
            do {
                try await loop.run(term: term)
                return
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                self.logger.warning("leader loop failed; restarting", metadata: ["loop": "\(loop.name)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
