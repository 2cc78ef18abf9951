import BatonModel

/// A place in Redis where the broker keeps entries, named by what it is for
/// rather than by its key, for `BrokerInspector`: tests and tools read and
/// disturb the broker's state through it without spelling a key or a command.
public enum BrokerPlace: Sendable, Hashable {
    /// The cluster's queues, before dispatch.
    case queue(TaskPriority)
    /// Tasks waiting for `run_at` or a retry backoff (scored by due time, ms).
    case delayed
    /// Entries cancelled while queued (scored by when, ms).
    case tombstones
    /// Tasks someone watches (scored by the watch's lease end, ms).
    case watchers
    /// Live workers (scored by their last heartbeat, ms).
    case workers
    /// A worker's queue of dispatched entries, per priority.
    case workerQueue(String, TaskPriority)
    /// What a worker has taken and not yet acknowledged.
    case inFlight(String)
    /// Cancel requests waiting for a worker.
    case cancels(String)
    /// A worker's wake-up bell, per priority (a dispatch rings it).
    case bell(String, TaskPriority)
    /// A paused type's parked entries.
    case parked(String)
    /// The types that have parked entries.
    case parkedTypes
    /// The cluster event stream.
    case events

    /// The place's key under `keys`.
    func key(_ keys: RedisKeys) -> String {
        switch self {
        case .queue(.normal): keys.normalQueue
        case .queue(.high): keys.highQueue
        case .delayed: keys.delayed
        case .tombstones: keys.tombstones
        case .watchers: keys.watchers
        case .workers: keys.workers
        case .workerQueue(let worker, .normal): keys.workerQueue(worker)
        case .workerQueue(let worker, .high): keys.workerHighQueue(worker)
        case .inFlight(let worker): keys.workerInFlight(worker)
        case .cancels(let worker): keys.workerCancels(worker)
        case .bell(let worker, .normal): keys.workerBell(worker)
        case .bell(let worker, .high): keys.workerHighBell(worker)
        case .parked(let type): keys.parked(type)
        case .parkedTypes: keys.parkedTypes
        case .events: keys.events
        }
    }

    /// How Redis holds it: which commands count, list and add.
    var shape: Shape {
        switch self {
        case .delayed, .tombstones, .watchers, .workers: .sortedSet
        case .parkedTypes: .set
        case .events: .stream
        default: .list
        }
    }

    enum Shape { case list, sortedSet, set, stream }
}
