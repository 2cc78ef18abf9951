import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
import BatonStore
import BatonTracing
import Foundation
import GRPCCore
import Logging
import Metrics
import ServiceLifecycle
import Tracing

/// Tasks on MySQL (source of truth) and Redis (queues): what
/// `baton.v1.TaskService`, the REST API and the dashboard all call. Knows no
/// transport: it takes and returns the contract's messages, runs as
/// `Caller.current`, and throws `RPCError`s whose codes each API words in its
/// own way (a gRPC status, an HTTP problem).
public struct TaskService: Sendable {
    let nodeID: String
    let tasks: TaskStore
    let configs: TaskConfigCache
    let broker: RedisBroker
    let hub: EventHub
    let validator: TaskRequestValidator
    let logger: Logger
    /// How often a watcher re-reads its task when no event arrives (a lost
    /// notification costs at most this much delay); the node's watchers of
    /// one task share that read.
    let watchFallback: Duration
    let watchers: TaskWatchers
    static let watchLease = Duration.seconds(30)
    /// Concurrent creates share a transaction (group commit).
    let coalescer = CreateCoalescer()
    /// Set when the node traces: a new task keeps the API span's traceparent.
    let tracer: (any Tracer)?

    public init(
        nodeID: String,
        tasks: TaskStore,
        configs: TaskConfigCache,
        broker: RedisBroker,
        hub: EventHub,
        limits: ValidationLimits = ValidationLimits(),
        watchLimits: WatchLimits = WatchLimits(),
        logger: Logger,
        watchFallback: Duration = .seconds(10),
        tracer: (any Tracer)? = nil
    ) {
        self.nodeID = nodeID
        self.tracer = tracer
        self.tasks = tasks
        self.configs = configs
        self.broker = broker
        self.hub = hub
        self.validator = TaskRequestValidator(limits: limits)
        self.logger = logger
        self.watchFallback = watchFallback
        self.watchers = TaskWatchers(limits: watchLimits)
    }

    // MARK: create

    public func createTask(_ request: Baton_V1_CreateTaskRequest) async throws -> Baton_V1_CreateTaskResponse {
        if request.waitSeconds != 0 { return try await self.createAndWait(request) }
        let created = try await self.create([request], items: false)
        return .with {
            $0.task = Baton_V1_Task(created[0].task)
            $0.deduplicated = created[0].deduplicated
        }
    }

    public func batchCreateTasks(_ request: Baton_V1_BatchCreateTasksRequest) async throws -> Baton_V1_BatchCreateTasksResponse {
        guard !request.tasks.isEmpty else { throw RPCErrors.invalid("tasks must not be empty") }
        guard request.tasks.count <= self.validator.limits.maxBatchSize else {
            throw RPCErrors.invalid("tasks holds \(request.tasks.count) items; at most \(self.validator.limits.maxBatchSize) are allowed")
        }
        let created = try await self.create(request.tasks, items: true)
        return .with { $0.tasks = created.map { Baton_V1_Task($0.task) } }
    }

    /// Validates every request, then commits the new tasks (with those of
    /// concurrent calls) and returns them in order.
    func create(_ requests: [Baton_V1_CreateTaskRequest], items: Bool) async throws -> [(task: TaskRecord, deduplicated: Bool)] {
        let now = self.broker.clock.now().roundedToMicroseconds
        var configs: [String: TaskConfigRecord] = [:]
        // A batch answers at once (the contract gives its items no wait).
        if items, let index = requests.firstIndex(where: { $0.waitSeconds != 0 }) {
            throw RPCErrors.invalid("tasks[\(index)].wait_seconds: BatchCreateTasks does not wait; create the task with CreateTask to wait for it")
        }
        let references = try self.dependencyReferences(requests, items: items)
        var args: [String?] = []
        args.reserveCapacity(requests.count)
        for (index, request) in requests.enumerated() {
            let item = items ? "tasks[\(index)]." : ""
            do {
                try self.validator.validate(request, item: item, now: now)
                args.append(try self.validator.args(request, item: item))
                if configs[request.taskType] == nil {
                    let config = try await RPCErrors.guarding("CreateTask", logger: self.logger) {
                        try await self.configs.config(request.taskType)
                    }
                    try self.validator.validate(config: config, taskType: request.taskType, item: item)
                    configs[request.taskType] = config
                }
            } catch let error as RPCErrorBox {
                throw RPCErrors.invalid(error.message)
            }
        }

        let tenant = Caller.current.tenant
        // The API call's span (TracingInterceptor, the REST route), whose
        // children the task's attempts will be; nothing when not tracing.
        let traceparent = self.tracer.flatMap { tracer in InstrumentationContext.current.flatMap { TraceParent.of($0, tracer: tracer) } }
        let drafts = zip(requests, args).map { request, args in
            let config = configs[request.taskType]!
            return TaskRecord(
                taskID: TaskID.make(now: now),
                taskType: request.taskType,
                priority: request.priority == .high ? .high : .normal,
                payload: request.payload,
                args: args,
                status: .queued,
                maxRetries: request.hasMaxRetries ? Int(request.maxRetries) : config.maxRetries,
                timeoutSeconds: request.hasTimeoutSeconds ? Int(request.timeoutSeconds) : config.timeoutSeconds,
                idempotencyKey: request.idempotencyKey.isEmpty ? nil : request.idempotencyKey,
                createdAt: now,
                updatedAt: now,
                runAt: request.hasRunAt ? request.runAt.date.roundedToMicroseconds : nil,
                tenant: tenant,
                traceparent: traceparent
            )
        }

        return try await RPCErrors.guarding("CreateTask", logger: self.logger) {
            do {
                // Tasks with dependencies take a path of their own; others share the group commit.
                if references.contains(where: { !$0.isEmpty }) {
                    return try await self.commit(drafts, dependsOn: references, items: items)
                }
                return try await self.coalescer.submit(drafts) { drafts in try await self.commit(drafts) }
            } catch let gone as TaskTypeUnavailable {
                // Deleted or disabled since this node's config cache read it.
                let types = gone.taskTypes.map { "\"\($0)\"" }.joined(separator: ", ")
                throw RPCErrors.invalid("task_type \(types) is not configured or is disabled")
            }
        }
    }

    /// Inserts the drafts in one transaction and enqueues them in one Redis
    /// round trip; a draft whose idempotency key already names a task gets
    /// that task back instead.
    private func commit(_ drafts: [TaskRecord]) async throws -> [(task: TaskRecord, deduplicated: Bool)] {
        let now = drafts.map(\.createdAt).min() ?? self.broker.clock.now()
        // A concurrent create with the same key may win between our check
        // and our insert; the second pass then finds its task.
        for attempt in 1...3 {
            let plan = try await self.deduplicate(drafts)
            let fresh = plan.compactMap { $0.deduplicated ? nil : $0.task }
            do {
                try await self.tasks.insertNew(fresh)
            } catch let error as StoreError where error.kind == .duplicateKey && attempt < 3 {
                continue
            }
            do {
                try await self.broker.enqueue(fresh, now: now)
            } catch {
                // Not on a queue: take back the rows no one else can know
                // of, so the client's retry does not create them twice. A
                // row with an idempotency key may already have been
                // returned to a concurrent request as deduplicated: it
                // stays, and the leader's reconciler enqueues it (the
                // client's retry with the same key gets it back).
                for task in fresh where task.idempotencyKey == nil { try? await self.tasks.deleteNeverQueued(task.taskID) }
                throw error
            }
            // One counter lookup per type, not per task.
            for (type, count) in Dictionary(fresh.map { ($0.taskType, 1) }, uniquingKeysWith: +) {
                Counter(label: "baton_tasks_created_total", dimensions: [("type", type)]).increment(by: count)
            }
            return plan
        }
        throw RPCError(code: .aborted, message: "idempotency key contention; retry")
    }

    /// Replaces drafts whose (tenant, type, key) already has a task, or
    /// repeats an earlier draft of the same call, by that task. Drafts of
    /// several callers (tenants) may share one commit.
    func deduplicate(_ drafts: [TaskRecord]) async throws -> [(task: TaskRecord, deduplicated: Bool)] {
        let keyed = drafts.compactMap { draft in draft.idempotencyKey.map { (tenant: draft.tenant, taskType: draft.taskType, key: $0) } }
        guard !keyed.isEmpty else { return drafts.map { ($0, false) } }
        // Keys compare as MySQL compares them, byte for byte (Swift's String
        // equality would merge canonically equivalent keys, é and e + ◌́).
        func identity(_ task: TaskRecord, _ key: String) -> [UInt8] { Array("\(task.tenant)\n\(task.taskType)\n".utf8) + Array(key.utf8) }
        var existing: [[UInt8]: TaskRecord] = [:]
        for task in try await self.tasks.tasks(idempotencyKeys: keyed) {
            existing[identity(task, task.idempotencyKey ?? "")] = task
        }
        var firstInCall: [[UInt8]: TaskRecord] = [:]
        return drafts.map { draft in
            guard let key = draft.idempotencyKey.map({ identity(draft, $0) }) else { return (draft, false) }
            if let task = existing[key] ?? firstInCall[key] { return (task, true) }
            firstInCall[key] = draft
            return (draft, false)
        }
    }

    // MARK: read

    public func getTask(_ request: Baton_V1_GetTaskRequest) async throws -> Baton_V1_GetTaskResponse {
        let task = try await self.existingTask(request.taskID)
        return .with { $0.task = Baton_V1_Task(task) }
    }

    public func listTasks(_ request: Baton_V1_ListTasksRequest) async throws -> Baton_V1_ListTasksResponse {
        let pageSize: Int
        let query: TaskQuery
        let token: PageToken?
        do {
            var filter = try self.validator.query(
                statuses: request.statuses.map(\.rawValue), taskType: request.taskType,
                createdAfter: request.hasCreatedAfter ? request.createdAfter.date : nil,
                createdBefore: request.hasCreatedBefore ? request.createdBefore.date : nil,
                workerID: request.workerID, idempotencyKey: request.idempotencyKey, scheduleID: request.scheduleID,
                dependsOn: request.dependsOn, oldestFirst: request.oldestFirst
            )
            filter.tenant = Caller.current.scope
            query = filter
            pageSize = try self.validator.pageSize(request.pageSize)
            token = try PageToken.decode(request.pageToken, filter: PageToken.filter(query))
            if let token { try self.validator.validate(taskID: token.position) }
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        // Read in chunks until the page is full by rows or by bytes.
        let (page, more) = try await RPCErrors.guarding("ListTasks", logger: self.logger) {
            try await PageBudget.collect(maxRows: pageSize, maxBytes: self.validator.limits.maxPageBytes, size: \.wireBytes) { after, limit in
                try await self.tasks.list(query, afterID: after?.taskID ?? token?.position, limit: limit)
            }
        }
        return .with {
            $0.tasks = page.map(Baton_V1_Task.init)
            if more, let last = page.last {
                $0.nextPageToken = PageToken(filter: PageToken.filter(query), position: last.taskID).encoded
            }
        }
    }

    public func getTaskLogs(_ request: Baton_V1_GetTaskLogsRequest) async throws -> Baton_V1_GetTaskLogsResponse {
        let pageSize: Int
        let token: PageToken?
        do {
            try self.validator.validate(taskID: request.taskID)
            pageSize = try self.validator.pageSize(request.pageSize)
            token = try PageToken.decode(request.pageToken, filter: request.taskID)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let afterID: Int64
        if let token {
            guard let position = Int64(token.position), position >= 0 else { throw RPCErrors.invalid("page_token is not a token this server issued") }
            afterID = position
        } else {
            afterID = 0
        }
        _ = try await self.existingTask(request.taskID)
        // Log lines are capped (64 KiB) when written; the page is by bytes too.
        let (page, more) = try await RPCErrors.guarding("GetTaskLogs", logger: self.logger) {
            try await PageBudget.collect(maxRows: pageSize, maxBytes: self.validator.limits.maxPageBytes, size: { $0.message.utf8.count + 128 }) {
                after, limit in
                try await self.tasks.logs(request.taskID, afterID: after?.id ?? afterID, limit: limit)
            }
        }
        return .with {
            $0.logs = page.map(Baton_V1_TaskLog.init)
            if more, let last = page.last {
                $0.nextPageToken = PageToken(filter: request.taskID, position: String(last.id)).encoded
            }
        }
    }

    /// A GetTaskLogs page token that reads the lines after log id
    /// `afterID`: how a tail asks only for what is new (REST's `afterId`).
    public static func logsPageToken(taskID: String, afterID: Int64) -> String {
        PageToken(filter: taskID, position: String(afterID)).encoded
    }

    // MARK: cancel

    public func cancelTask(_ request: Baton_V1_CancelTaskRequest) async throws -> Baton_V1_CancelTaskResponse {
        do {
            try self.validator.validate(taskID: request.taskID)
            try self.validator.validate(reason: request.reason)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let reason = request.reason.isEmpty ? "cancelled" : "cancelled: \(request.reason)"
        // Another tenant's task is one that does not exist (its tenant never changes).
        if Caller.current.scope != nil { _ = try await self.existingTask(request.taskID) }
        let (task, cancelled) = try await ClaimedAttempts.cancelling([request.taskID], broker: self.broker) { running in
            try await RPCErrors.guarding("CancelTask", logger: self.logger) {
                try await self.tasks.cancel(request.taskID, reason: reason, now: self.broker.clock.now(), running: running.first)
            }
        }
        guard let task else { throw RPCErrors.notFound(request.taskID) }
        guard cancelled else {
            throw RPCError(code: .failedPrecondition, message: "task \(task.taskID) is already \(task.status.wireName)")
        }
        // Audit: who cancelled, by key id (never the key).
        self.logger.info("task cancelled", metadata: ["task_id": "\(task.taskID)", "by": "\(Caller.description)"])
        await self.signalCancelled([task], message: Caller.keyID.map { "\(reason) (by key \($0))" } ?? reason)
        return .with { $0.task = Baton_V1_Task(task) }
    }

    // MARK: watch

    /// Writes the task at once, then at each change until it is terminal;
    /// ends early when the calling task is cancelled (the client went away).
    public func watchTask(
        _ request: Baton_V1_WatchTaskRequest,
        write: @escaping @Sendable (Baton_V1_Task) async throws -> Void
    ) async throws {
        do {
            try self.validator.validate(taskID: request.taskID)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let taskID = request.taskID
        // An unknown id, or another tenant's, is answered NOT_FOUND before
        // anything is held or registered for it (a watcher slot, the
        // announcement lease in Redis): a watch costs only for a real task.
        _ = try await self.watchedTask(taskID, notBefore: .now)
        let key = Caller.keyID
        try self.watchers.admit(taskID, key: key)
        defer { self.watchers.release(taskID, key: key) }
        let (changes, first) = try await self.startFollowing(taskID)
        try await write(Baton_V1_Task(first))
        if first.status.isTerminal { return }
        _ = try await self.follow(taskID, from: first, changes: changes, write: write)
    }

    /// Listens for the task's changes and has them announced (workers and the
    /// leader announce watched tasks only), then reads it: a change between
    /// the two is heard, not left to the slow fallback. The caller holds a
    /// watch of the task (`TaskWatchers.admit` or `attach`).
    func startFollowing(_ taskID: String) async throws -> (changes: AsyncStream<ClusterEvent>, first: TaskRecord) {
        let changes = self.hub.taskChanges(taskID)
        self.watchers.leaseRenewed(taskID)
        try? await self.broker.watch(taskID, lease: Self.watchLease)
        return (changes, try await self.watchedTask(taskID, notBefore: .now))
    }

    /// The task as read at `notBefore` or later, shared with the node's other
    /// watchers of it; another tenant's is one that does not exist.
    func watchedTask(_ taskID: String, notBefore: ContinuousClock.Instant) async throws -> TaskRecord {
        let tasks = self.tasks
        let task = try await RPCErrors.guarding("WatchTask", logger: self.logger) {
            try await self.watchers.read(taskID, notBefore: notBefore) { [broker = self.broker] in
                await ClaimedAttempts.read(try await tasks.task(taskID), broker: broker)
            }
        }
        guard let task, Caller.current.scope.map({ $0 == task.tenant }) ?? true else { throw RPCErrors.notFound(taskID) }
        return task
    }

    /// Follows the task from `first` (what `startFollowing` read), writing
    /// each change. Returns the task as last read: terminal, or not yet when
    /// `deadline` came, the calling task was cancelled (the client went
    /// away) or the server began to stop.
    func follow(
        _ taskID: String,
        from first: TaskRecord,
        changes: AsyncStream<ClusterEvent>,
        until deadline: ContinuousClock.Instant? = nil,
        write: @escaping @Sendable (Baton_V1_Task) async throws -> Void
    ) async throws -> TaskRecord {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // The client going away (or the server stopping) ends the watch.
        return try await withTaskCancellationHandler {
            try await self.follow(taskID, from: first, wakeups: wakeups, wake: wake, changes: changes, until: deadline, write: write)
        } onCancel: {
            wake.finish()
        }
    }

    /// Change events wake the watcher (a read begun since the change was
    /// heard serves it); a slow fallback covers a notification lost on the
    /// way, and one watcher per task renews the lease that makes workers
    /// announce the task's changes. Ends with `wakeups`, or at `deadline`.
    private func follow(
        _ taskID: String,
        from first: TaskRecord,
        wakeups: AsyncStream<Void>,
        wake: AsyncStream<Void>.Continuation,
        changes: AsyncStream<ClusterEvent>,
        until deadline: ContinuousClock.Instant?,
        write: @escaping @Sendable (Baton_V1_Task) async throws -> Void
    ) async throws -> TaskRecord {
        let demand = WakeTime()
        return try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in changes {
                        demand.raise(to: .now)
                        wake.yield()
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: self.watchFallback)
                        // Any read of the last interval will do.
                        demand.raise(to: .now - self.watchFallback)
                        wake.yield()
                    }
                }
                // Workers and the leader announce transitions of watched tasks
                // only; the lease lapses on its own if this node dies.
                group.addTask {
                    while true {
                        if self.watchers.leaseDue(taskID, interval: Self.watchLease / 3) {
                            try? await self.broker.watch(taskID, lease: Self.watchLease)
                        }
                        try await Task.sleep(for: Self.watchLease / 3)
                    }
                }
                if let deadline {
                    group.addTask {
                        try await Task.sleep(until: deadline, clock: .continuous)
                        wake.finish()
                    }
                }
                var last = first
                for await _ in wakeups {
                    guard let heard = demand.take() else { continue }
                    let current = try await self.watchedTask(taskID, notBefore: heard)
                    if current != last {
                        try await write(Baton_V1_Task(current))
                        last = current
                    }
                    if current.status.isTerminal { break }
                }
                group.cancelAll()
                return last
            }
        }
    }

    // MARK: stats

    public func getStats(_ request: Baton_V1_GetStatsRequest) async throws -> Baton_V1_GetStatsResponse {
        // Task counts are the caller's tenant's (every tenant's for an
        // admin); the cluster's figures (leader, queues, workers) are shared.
        let scope = Caller.current.scope
        let (snapshot, counts) = try await RPCErrors.guarding("GetStats", logger: self.logger) {
            async let snapshot = self.broker.snapshot()
            async let counts = self.tasks.countsByStatus(tenant: scope)
            return try await (snapshot, counts)
        }
        return .with {
            $0.nodeID = self.nodeID
            $0.leaderNodeID = snapshot.leaderNodeID
            $0.leaderEpoch = snapshot.leaderEpoch
            $0.queueHigh = snapshot.queueHigh
            $0.queueNormal = snapshot.queueNormal
            $0.queueDelayed = snapshot.queueDelayed
            $0.tasksScheduledTotal = snapshot.scheduledTotal
            // Every tenant's: what workers hold in flight runs, written or not.
            let counts = scope == nil ? ClaimedAttempts.counts(counts, inFlight: Int64(snapshot.workers.reduce(0) { $0 + $1.running })) : counts
            for status in TaskStatus.allCases {
                $0.tasksByStatus[status.wireName] = counts[status] ?? 0
            }
            $0.workers = snapshot.workers.map { worker in
                .with {
                    $0.workerID = worker.workerID
                    $0.nodeID = worker.nodeID
                    $0.capacity = Int32(clamping: worker.capacity)
                    $0.running = Int32(clamping: worker.running)
                    $0.queued = Int32(clamping: worker.queued)
                    $0.taskTypes = worker.taskTypes
                    // `@http`, `@grpc`: kinds (no handler name starts with `@`).
                    $0.executorKinds = worker.executors.filter { $0.hasPrefix("@") }.map { String($0.dropFirst()) }
                    $0.localHandlers = worker.executors.filter { !$0.hasPrefix("@") }
                    if let beat = worker.lastHeartbeat { $0.lastHeartbeat = .init(microseconds: beat) }
                }
            }
            $0.unservedTaskTypes = snapshot.unservedTypes.map { type in
                .with {
                    $0.taskType = type.taskType
                    $0.parkedTasks = type.parked
                }
            }
        }
    }

    func existingTask(_ taskID: String) async throws -> TaskRecord {
        do {
            try self.validator.validate(taskID: taskID)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let task = await ClaimedAttempts.read(
            try await RPCErrors.guarding("GetTask", logger: self.logger) { try await self.tasks.task(taskID) }, broker: self.broker
        )
        // Another tenant's task is answered as one that does not exist.
        guard let task, Caller.current.scope.map({ $0 == task.tenant }) ?? true else { throw RPCErrors.notFound(taskID) }
        return task
    }
}
