/// Which of a worker's keys a script gets for each worker of the key roster
/// (`KeyRoster`), in their order in KEYS: the scripts index them from the
/// worker's first key (`BrokerScripts.roster`), so their count is read here.
enum WorkerKeySet {
    /// `dispatch`: hash, queue, high queue, in-flight list, bell, high bell.
    case dispatch
    /// `unserved_types`: the hash.
    case registration
    /// `requeue_missing`, `begin_restore`: queue, high queue, in-flight list.
    case lists

    func keys(of workerID: String, in keys: RedisKeys) -> [String] {
        switch self {
        case .dispatch:
            [
                keys.worker(workerID), keys.workerQueue(workerID), keys.workerHighQueue(workerID), keys.workerInFlight(workerID),
                keys.workerBell(workerID), keys.workerHighBell(workerID),
            ]
        case .registration: [keys.worker(workerID)]
        case .lists: [keys.workerQueue(workerID), keys.workerHighQueue(workerID), keys.workerInFlight(workerID)]
        }
    }

    var count: Int { self.keys(of: "", in: RedisKeys()).count }
}
