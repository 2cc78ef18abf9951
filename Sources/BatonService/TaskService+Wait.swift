import BatonAuth
import BatonModel
import BatonProto
import GRPCCore

/// Synchronous submit (`wait_seconds`): a create that answers once its task
/// is terminal or the wait is over, with the task as it stands then. The
/// wait is a watch like WatchTask's: it takes a place among the node's
/// watches (`WatchLimits`), hears the task's announced changes and shares
/// the reads of its row with the node's other watchers of it, so a waiting
/// call costs MariaDB a read when it starts, one per change of its task and
/// one when its wait runs out; it never polls.
extension TaskService {
    func createAndWait(_ request: Baton_V1_CreateTaskRequest) async throws -> Baton_V1_CreateTaskResponse {
        let seconds: Int
        do {
            seconds = try self.validator.waitSeconds(request.waitSeconds)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        // The place is taken before anything is created: with none free the
        // call is refused (RESOURCE_EXHAUSTED, as WatchTask is) and creates
        // nothing, so the client's retry creates the task once. Creating it
        // and answering at once would break the promise of `wait_seconds`
        // where a client counts on it (a non-terminal answer then means the
        // wait ran out), and a refusal after the create would have a client
        // without an idempotency key create the task again.
        let key = Caller.keyID
        try self.watchers.admit(key: key)
        defer { self.watchers.release(key: key) }
        // The client going away does not stop the create (only the wait): its
        // commit may carry other callers' tasks (`CreateCoalescer`).
        let created = try await Task { try await self.create([request], items: false)[0] }.value
        var task = created.task
        if !task.status.isTerminal {
            do {
                task = try await self.wait(for: task.taskID, until: deadline)
            } catch {
                if Task.isCancelled { throw error }
                // The task exists, so the answer must carry it (a client that
                // retried an error without an idempotency key would create
                // it twice): a wait that failed (a store outage) answers the
                // task as created, before its time.
                self.logger.warning("a create's wait failed; answered the task as created", metadata: [
                    "task_id": "\(task.taskID)", "error": "\(RPCErrors.map(error, logger: self.logger, operation: "CreateTask").message)",
                ])
            }
        }
        return .with {
            $0.task = Baton_V1_Task(task)
            $0.deduplicated = created.deduplicated
        }
    }

    /// The task once terminal, or as it stands at `deadline` (or when the
    /// node begins to stop). Throws CANCELLED when the calling task is
    /// cancelled: the client went away, or its deadline passed.
    private func wait(for taskID: String, until deadline: ContinuousClock.Instant) async throws -> TaskRecord {
        self.watchers.attach(taskID)
        defer { self.watchers.detach(taskID) }
        let (changes, first) = try await self.startFollowing(taskID)
        var task = first
        if !task.status.isTerminal {
            task = try await self.follow(taskID, from: first, changes: changes, until: deadline) { _ in }
        }
        guard !Task.isCancelled else {
            throw RPCError(code: .cancelled, message: "the caller stopped waiting; task \(taskID) was created")
        }
        // As it stands now, not as last heard: a change may be on its way
        // still (announced, not yet read), or its announcement lost.
        if !task.status.isTerminal, let now = try? await self.watchedTask(taskID, notBefore: .now) { task = now }
        return task
    }
}
