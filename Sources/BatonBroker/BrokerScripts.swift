import BatonRedis

/// Every Lua script Baton runs on Redis, in one place (as asynq keeps them).
/// A multi-step change of Redis state is always one script, hence atomic.
public enum BrokerScripts {
    /// Puts new tasks on their queues and delayed tasks in the delayed set.
    /// KEYS: high queue, normal queue, delayed set.
    /// ARGV: number of high entries H, number of normal entries N, the H high
    /// entries, the N normal entries, then (score, member) pairs for the delayed set.
    public static let enqueue = RedisScript(
        name: "enqueue",
        source: """
            local high = tonumber(ARGV[1])
            local normal = tonumber(ARGV[2])
            local i = 3
            for _ = 1, high do redis.call('RPUSH', KEYS[1], ARGV[i]); i = i + 1 end
            for _ = 1, normal do redis.call('RPUSH', KEYS[2], ARGV[i]); i = i + 1 end
            while i < #ARGV do
              redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
              i = i + 2
            end
            return high + normal
            """
    )

    /// Takes a cancelled task off every structure that may hold it and
    /// announces the cancel. KEYS: high queue, normal queue, delayed set,
    /// worker queue (or a placeholder), events stream.
    /// ARGV: queue member, delayed member, task id, stream max length.
    /// Returns how many entries were removed.
    public static let cancel = RedisScript(
        name: "cancel",
        source: """
            local removed = redis.call('LREM', KEYS[1], 0, ARGV[1])
              + redis.call('LREM', KEYS[2], 0, ARGV[1])
              + redis.call('ZREM', KEYS[3], ARGV[2])
              + redis.call('LREM', KEYS[4], 0, ARGV[1])
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 'k', 'cancel', 's', ARGV[3])
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 'k', 'task', 's', ARGV[3])
            return removed
            """
    )
}
