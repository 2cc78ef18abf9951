import BatonRedis
import Synchronization

/// The workers and types whose keys the scripts that meet keys at run time
/// (`dispatch`, `unserved_types`, `requeue_missing`, `begin_restore`) get in
/// KEYS, so that no script builds a key (`BrokerScripts.roster`,
/// docs/redis.md). What the scripts last reported: the workers registry's
/// members (each script reads the registry anyway and returns its members
/// when they differ from the roster's), and every type whose parked list a
/// script asked for. A script that needed a key the roster lacked (a worker
/// registered since, a type parked for the first time) says so, and its
/// caller runs it again at once with the roster corrected: one more round
/// trip when the cluster changes, none in the steady state.
///
/// A type stays once asked for (at most the configured types; passing a
/// list a script does not touch costs a few bytes). One per broker, shared
/// by its copies.
final class KeyRoster: Sendable {
    /// What a script call carries for the roster, as Redis arguments: its
    /// keys (`WorkerKeySet` of each worker, then each type's parked list) and
    /// its ARGV part (W, the ids, P, the types). Built once per change of the
    /// roster, not per call: dispatch runs many times a second, and building
    /// and encoding six keys per worker each round cost ~0.2 ms a round with
    /// 32 workers (docs/benchmarks.md).
    struct Encoded: Sendable {
        let keys: [[UInt8]]
        let arguments: [[UInt8]]
    }

    private struct State {
        var workers: [String] = []
        var types: [String] = []
        var encoded: [WorkerKeySet: Encoded] = [:]
    }

    private let keys: RedisKeys
    private let state = Mutex(State())

    init(keys: RedisKeys) {
        self.keys = keys
    }

    /// The roster as `set`'s scripts take it.
    func encoded(for set: WorkerKeySet) -> Encoded {
        self.state.withLock { state in
            if let encoded = state.encoded[set] { return encoded }
            var keys: [[UInt8]] = []
            keys.reserveCapacity(state.workers.count * set.count + state.types.count)
            for workerID in state.workers { keys += set.keys(of: workerID, in: self.keys).map(\.redisArgument) }
            for type in state.types { keys.append(self.keys.parked(type).redisArgument) }
            let arguments = ([state.workers.count.redisArgument] + state.workers.map(\.redisArgument))
                + [state.types.count.redisArgument] + state.types.map(\.redisArgument)
            let encoded = Encoded(keys: keys, arguments: arguments)
            state.encoded[set] = encoded
            return encoded
        }
    }

    /// Takes in a script's `rosterReply` (result first); true when the script
    /// lacked a key it needed and should run again.
    func apply(_ reply: [RESPValue]) -> Bool {
        guard reply.count >= 4 else { return false }
        let members = reply[2].array?.compactMap(\.string)
        let asked = (reply[3].array ?? []).compactMap(\.string)
        if members != nil || !asked.isEmpty {
            self.state.withLock { state in
                if let members { state.workers = members }
                for type in asked where !state.types.contains(type) { state.types.append(type) }
                state.encoded = [:]
            }
        }
        return reply[1].int == 1
    }
}
