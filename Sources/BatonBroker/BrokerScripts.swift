import BatonRedis

/// Every Lua script Baton runs on Redis, in one place (as asynq keeps them).
/// A multi-step change of Redis state is always one script, hence atomic.
public enum BrokerScripts {
    /// Puts new tasks on their queues and delayed tasks in the delayed set,
    /// and wakes the dispatcher (or the promoter). KEYS: high queue, normal
    /// queue, delayed set, wake list, delayed wake list.
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
            if high + normal > 0 then
              redis.call('LPUSH', KEYS[4], 1)
              redis.call('LTRIM', KEYS[4], 0, 0)
            end
            if i > 3 + high + normal then
              redis.call('LPUSH', KEYS[5], 1)
              redis.call('LTRIM', KEYS[5], 0, 0)
            end
            return high + normal
            """
    )

    /// Takes a cancelled task off every structure that may hold it and
    /// announces the cancel. KEYS: high queue, normal queue, delayed set,
    /// worker queue (or a placeholder), events stream, in-use counts.
    /// ARGV: entry, task id, stream max length, task type.
    /// Returns how many entries were removed.
    public static let cancel = RedisScript(
        name: "cancel",
        source: """
            local onWorker = redis.call('LREM', KEYS[4], 0, ARGV[1])
            if onWorker > 0 then redis.call('HINCRBY', KEYS[6], ARGV[4], -onWorker) end
            local removed = redis.call('LREM', KEYS[1], 0, ARGV[1])
              + redis.call('LREM', KEYS[2], 0, ARGV[1])
              + redis.call('ZREM', KEYS[3], ARGV[1])
              + onWorker
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'k', 'cancel', 's', ARGV[2])
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'k', 'task', 's', ARGV[2])
            return removed
            """
    )

    // MARK: leader election

    /// KEYS: leader, epoch. ARGV: `<node>|<token>`, TTL ms.
    /// Takes the lock if free; returns the new epoch, or 0.
    public static let acquireLeadership = RedisScript(
        name: "acquire_leadership",
        source: """
            if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
              return redis.call('INCR', KEYS[2])
            end
            return 0
            """
    )

    /// KEYS: leader. ARGV: `<node>|<token>`, TTL ms. 1 while the caller still holds the lock.
    public static let renewLeadership = RedisScript(
        name: "renew_leadership",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            return 0
            """
    )

    /// KEYS: leader. ARGV: `<node>|<token>`. Deletes the lock only if the caller holds it.
    public static let releaseLeadership = RedisScript(
        name: "release_leadership",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """
    )

    // MARK: dispatch

    /// Moves up to a batch of tasks from the priority queues to worker queues.
    /// Fenced: refuses (error FENCED) unless the caller holds the leader lock.
    /// KEYS: leader, high queue, normal queue, workers, limits, in-use, scheduled total, round-robin cursor.
    /// ARGV: `<node>|<token>`, batch, now ms, heartbeat TTL ms, strategy, namespace,
    ///       weight high, weight normal (0 and 0: strict priority).
    /// Returns a flat list: entry, worker id, entry, worker id, …
    public static let dispatch = RedisScript(
        name: "dispatch",
        source: """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED not the leader') end
            local batch, now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
            local strategy, ns = ARGV[5], ARGV[6]
            local wh, wn = tonumber(ARGV[7]), tonumber(ARGV[8])
            local workers = {}
            for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], now - ttl, '+inf')) do
              local base = ns .. ':worker:' .. id
              local info = redis.call('HMGET', base, 'capacity', 'types', 'draining')
              if info[1] and info[3] ~= '1' then
                local w = { id = id, queue = base .. ':queue', cap = tonumber(info[1]), types = nil }
                w.load = redis.call('LLEN', w.queue) + redis.call('LLEN', base .. ':inflight')
                if info[2] and info[2] ~= '' and info[2] ~= '*' then
                  w.types = {}
                  for t in string.gmatch(info[2], '[^,]+') do w.types[t] = true end
                end
                table.insert(workers, w)
              end
            end
            if #workers == 0 then return {} end
            table.sort(workers, function(a, b) return a.id < b.id end)
            local rr = tonumber(redis.call('GET', KEYS[8]) or '0')
            local second = math.floor(now / 1000)
            local moved = {}

            local function place(queue)
              local entry = redis.call('LINDEX', queue, 0)
              if not entry then return 'empty' end
              local t = string.match(entry, '^%d|[^|]+|(.+)$') or ''
              local limit = redis.call('HGET', KEYS[5], t)
              local maxconc, rate = 0, 0
              if limit then
                local a, b = string.match(limit, '^(%d+)|(%d+)$')
                maxconc, rate = tonumber(a) or 0, tonumber(b) or 0
              end
              if maxconc > 0 and tonumber(redis.call('HGET', KEYS[6], t) or '0') >= maxconc then return 'blocked' end
              local rateKey = ns .. ':rate:' .. t .. ':' .. second
              if rate > 0 and tonumber(redis.call('GET', rateKey) or '0') >= rate then return 'blocked' end
              local eligible = {}
              for _, w in ipairs(workers) do
                if w.load < w.cap and (w.types == nil or w.types[t]) then table.insert(eligible, w) end
              end
              if #eligible == 0 then return 'blocked' end
              local best
              if strategy == 'round_robin' then
                best = eligible[(rr % #eligible) + 1]
                rr = rr + 1
              elseif strategy == 'random' then
                best = eligible[((now + #moved * 7919) % #eligible) + 1]
              else
                for _, w in ipairs(eligible) do
                  if best == nil or w.load / w.cap < best.load / best.cap then best = w end
                end
              end
              redis.call('LPOP', queue)
              redis.call('RPUSH', best.queue, entry)
              best.load = best.load + 1
              redis.call('HINCRBY', KEYS[6], t, 1)
              if rate > 0 then
                redis.call('INCR', rateKey)
                redis.call('PEXPIRE', rateKey, 2000)
              end
              table.insert(moved, entry)
              table.insert(moved, best.id)
              return 'ok'
            end

            local highOpen, normalOpen = true, true
            local n = 0
            while n < batch and (highOpen or normalOpen) do
              local preferHigh = true
              if wh > 0 and wn > 0 then preferHigh = (n % (wh + wn)) < wh end
              local first, second = KEYS[2], KEYS[3]
              if not preferHigh then first, second = KEYS[3], KEYS[2] end
              local firstOpen = (first == KEYS[2]) and highOpen or normalOpen
              local result = 'empty'
              if firstOpen then result = place(first) end
              if result ~= 'ok' then
                if first == KEYS[2] then highOpen = false else normalOpen = false end
                local secondOpen = (second == KEYS[2]) and highOpen or normalOpen
                if secondOpen then
                  result = place(second)
                  if result ~= 'ok' then
                    if second == KEYS[2] then highOpen = false else normalOpen = false end
                  end
                end
              end
              if result ~= 'ok' then break end
              n = n + 1
            end
            redis.call('SET', KEYS[8], rr)
            if n > 0 then redis.call('INCRBY', KEYS[7], n) end
            return moved
            """
    )

    /// Moves due tasks from the delayed set to the back of their queues.
    /// KEYS: delayed set, high queue, normal queue, wake list. ARGV: now ms, limit.
    /// Returns how many moved and the earliest due time left (ms, or -1).
    public static let promoteDue = RedisScript(
        name: "promote_due",
        source: """
            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
            for _, entry in ipairs(due) do
              redis.call('ZREM', KEYS[1], entry)
              if string.sub(entry, 1, 1) == '1' then redis.call('RPUSH', KEYS[2], entry) else redis.call('RPUSH', KEYS[3], entry) end
            end
            if #due > 0 then
              redis.call('LPUSH', KEYS[4], 1)
              redis.call('LTRIM', KEYS[4], 0, 0)
            end
            local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            return {#due, first[2] and math.floor(tonumber(first[2])) or -1}
            """
    )

    /// Gives a dead worker's tasks back: its queue and in-flight list go to
    /// the front of their priority queues (in-flight first, order kept), and
    /// the worker leaves the registry.
    /// KEYS: workers, high queue, normal queue, in-use, wake list. ARGV: namespace, worker id.
    /// Returns the in-flight entries (they ran: MySQL counts a worker loss).
    public static let reclaimWorker = RedisScript(
        name: "reclaim_worker",
        source: """
            local base = ARGV[1] .. ':worker:' .. ARGV[2]
            local queued = redis.call('LRANGE', base .. ':queue', 0, -1)
            local inflight = redis.call('LRANGE', base .. ':inflight', 0, -1)
            local function requeue(entries)
              for i = #entries, 1, -1 do
                local entry = entries[i]
                if string.sub(entry, 1, 1) == '1' then redis.call('LPUSH', KEYS[2], entry) else redis.call('LPUSH', KEYS[3], entry) end
                local t = string.match(entry, '^%d|[^|]+|(.+)$')
                if t then redis.call('HINCRBY', KEYS[4], t, -1) end
              end
            end
            requeue(queued)
            requeue(inflight)
            redis.call('DEL', base .. ':queue', base .. ':inflight', base)
            redis.call('ZREM', KEYS[1], ARGV[2])
            if #queued + #inflight > 0 then
              redis.call('LPUSH', KEYS[5], 1)
              redis.call('LTRIM', KEYS[5], 0, 0)
            end
            return inflight
            """
    )

    // MARK: worker

    /// Registers or refreshes a worker. KEYS: workers, worker hash.
    /// ARGV: worker id, now ms, TTL ms, then field/value pairs.
    public static let heartbeat = RedisScript(
        name: "heartbeat",
        source: """
            local fields = {}
            for i = 4, #ARGV do table.insert(fields, ARGV[i]) end
            redis.call('HSET', KEYS[2], 'heartbeat_ms', ARGV[2], unpack(fields))
            redis.call('PEXPIRE', KEYS[2], ARGV[3])
            redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
            return 1
            """
    )

    /// Moves up to N more entries from a worker's queue to its in-flight list
    /// (after a blocking move delivered the first). KEYS: queue, in-flight. ARGV: N.
    public static let takeMore = RedisScript(
        name: "take_more",
        source: """
            local taken = {}
            for _ = 1, tonumber(ARGV[1]) do
              local entry = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
              if not entry then break end
              table.insert(taken, entry)
            end
            return taken
            """
    )

    /// Acknowledges finished attempts: drops them from the in-flight list,
    /// frees their type's slot, schedules retries, announces watched changes,
    /// and wakes the dispatcher.
    /// KEYS: in-flight, in-use, delayed set, events, watched, wake list, delayed wake list.
    /// ARGV: stream max length, then per task: entry, retry due ms (or 0).
    public static let finish = RedisScript(
        name: "finish",
        source: """
            local delayed = false
            for i = 2, #ARGV, 2 do
              local entry, due = ARGV[i], tonumber(ARGV[i + 1])
              if redis.call('LREM', KEYS[1], 1, entry) > 0 then
                local t = string.match(entry, '^%d|[^|]+|(.+)$')
                if t then redis.call('HINCRBY', KEYS[2], t, -1) end
              end
              if due > 0 then
                redis.call('ZADD', KEYS[3], due, entry)
                delayed = true
              end
              local id = string.match(entry, '^%d|([^|]+)|')
              if id and redis.call('HEXISTS', KEYS[5], id) == 1 then
                redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'k', 'task', 's', id)
              end
            end
            redis.call('LPUSH', KEYS[6], 1)
            redis.call('LTRIM', KEYS[6], 0, 0)
            if delayed then
              redis.call('LPUSH', KEYS[7], 1)
              redis.call('LTRIM', KEYS[7], 0, 0)
            end
            return 1
            """
    )

    /// Puts unfinished in-flight entries back at the front of their queues
    /// (graceful stop). KEYS: in-flight, high queue, normal queue, in-use, wake list. ARGV: entries.
    public static let handBack = RedisScript(
        name: "hand_back",
        source: """
            for i = #ARGV, 1, -1 do
              local entry = ARGV[i]
              if redis.call('LREM', KEYS[1], 1, entry) > 0 then
                if string.sub(entry, 1, 1) == '1' then redis.call('LPUSH', KEYS[2], entry) else redis.call('LPUSH', KEYS[3], entry) end
                local t = string.match(entry, '^%d|[^|]+|(.+)$')
                if t then redis.call('HINCRBY', KEYS[4], t, -1) end
              end
            end
            redis.call('LPUSH', KEYS[5], 1)
            redis.call('LTRIM', KEYS[5], 0, 0)
            return 1
            """
    )

    /// Announces a change of each watched task among ARGV[2…]. KEYS: events, watched. ARGV: max length, ids.
    public static let announce = RedisScript(
        name: "announce",
        source: """
            for i = 2, #ARGV do
              if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'k', 'task', 's', ARGV[i])
              end
            end
            return 1
            """
    )

    /// KEYS: watched. ARGV: task id. One watcher fewer; the field goes at zero.
    public static let unwatch = RedisScript(
        name: "unwatch",
        source: """
            if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
            return 1
            """
    )

    /// Puts a task back on its queue unless some Redis structure holds it
    /// (reconciliation after a crash or a Redis data loss). Atomic, so a task
    /// moving between structures is never mistaken for a lost one.
    /// KEYS: high queue, normal queue, delayed set, workers, wake list. ARGV: namespace, entry.
    /// Returns 1 when the task was put back.
    public static let requeueIfMissing = RedisScript(
        name: "requeue_if_missing",
        source: """
            local entry = ARGV[2]
            if redis.call('LPOS', KEYS[1], entry) or redis.call('LPOS', KEYS[2], entry) or redis.call('ZSCORE', KEYS[3], entry) then
              return 0
            end
            for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
              local base = ARGV[1] .. ':worker:' .. id
              if redis.call('LPOS', base .. ':queue', entry) or redis.call('LPOS', base .. ':inflight', entry) then return 0 end
            end
            if string.sub(entry, 1, 1) == '1' then redis.call('RPUSH', KEYS[1], entry) else redis.call('RPUSH', KEYS[2], entry) end
            redis.call('LPUSH', KEYS[5], 1)
            redis.call('LTRIM', KEYS[5], 0, 0)
            return 1
            """
    )
}
