import BatonRedis

/// Every Lua script Baton runs on Redis, in one place (as asynq keeps them).
/// A multi-step change of Redis state is always one script, hence atomic.
///
/// Keys and Redis Cluster: every key a script touches is declared in KEYS;
/// no script builds a key (`ScriptKeysTests` reads every script and fails on
/// one that does). The keys a script meets at run time, the live workers'
/// lists and hashes and the parked lists of types, come from the caller's key
/// roster (`roster`, `KeyRoster`): the script compares it with what Redis
/// holds, uses only keys it was given, and reports what was missing, and
/// the caller runs it again at once with the roster corrected.
///
/// Each declares itself with a `#!lua` shebang: Redis then refuses a script
/// that may write as a whole, before its first command, when `maxmemory` is
/// reached; a script without one would run and have its writes refused one by
/// one (a pop done, its push refused: the entry lost).
public enum BrokerScripts {
    /// Every script, for the tests that read them all (`ScriptKeysTests`).
    public static let all: [RedisScript] = [
        enqueue, cancel, acquireLeadership, renewLeadership, releaseIfHeld, raiseEpoch, dispatch, promoteDue, expiredWorkers, declareDead,
        reclaimWorker, registerWorker, claimNode, heartbeat, publishWindow, deregisterWorker, handBackQueued, take, acknowledge,
        handBackInFlight, announce, requeueMissing, beginRestore, restorePage, unservedTypes, setLimits, unpark, holdForCancel, releaseCancelHolds,
    ]

    /// The claim a cancel holds while it writes MySQL: of a generation no
    /// entry reaches, so a take drops every entry of the task meanwhile.
    static let cancelHold = "999999999|~cancel|"

    /// Puts new tasks on their queues and delayed tasks in the delayed set,
    /// and wakes the dispatcher (or the promoter). While a restore runs, each
    /// entry joins its held set (the restore then never pushes a second copy).
    /// KEYS: high queue, normal queue, delayed set, wake list, delayed wake
    /// list, tombstones, restore's held set.
    /// ARGV: number of high entries H, number of normal entries N, the H high
    /// entries, the N normal entries, then (score, member) pairs for the delayed set.
    public static let enqueue = RedisScript(
        name: "enqueue",
        source: """
            #!lua
            local high = tonumber(ARGV[1])
            local normal = tonumber(ARGV[2])
            local i = 3
            -- A tombstone names one generation's entry (a retry waits as the
            -- next): an entry pushed again at that generation is live again.
            local tombstones = redis.call('ZCARD', KEYS[6]) > 0
            local restoring = redis.call('EXISTS', KEYS[7]) == 1
            local function added(entry)
              if tombstones then redis.call('ZREM', KEYS[6], entry) end
              if restoring then redis.call('SADD', KEYS[7], entry) end
            end
            for _ = 1, high do redis.call('RPUSH', KEYS[1], ARGV[i]); added(ARGV[i]); i = i + 1 end
            for _ = 1, normal do redis.call('RPUSH', KEYS[2], ARGV[i]); added(ARGV[i]); i = i + 1 end
            while i < #ARGV do
              redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
              added(ARGV[i + 1])
              i = i + 2
            end
            if high + normal > 0 then
              \(ring("KEYS[4]"))
            end
            if i > 3 + high + normal then
              \(ring("KEYS[5]"))
            end
            return high + normal
            """
    )

    /// Takes a cancelled task off the structures that may hold it without a
    /// scan (the delayed set, the worker's queues: at most its capacity long),
    /// leaves a tombstone for the priority queues (the dispatcher drops the
    /// entry when it reaches it: no LREM over a queue of a million), tells the
    /// worker that may run it (its own cancel list: a mass cancel never
    /// crowds out another worker's signal), and announces the change.
    /// KEYS: high queue, normal queue, delayed set, worker queue (or a
    /// placeholder), events stream, in-use counts, worker high queue, worker
    /// cancel list, tombstones.
    /// ARGV: entry, task id, stream max length, task type, 1 when a worker
    /// may run it, `<task id>|<attempt>` (the worker aborts that attempt only:
    /// a late signal never ends the attempt of a retry that followed).
    /// Returns how many entries were removed.
    public static let cancel = RedisScript(
        name: "cancel",
        source: """
            #!lua
            local onWorker = redis.call('LREM', KEYS[4], 0, ARGV[1]) + redis.call('LREM', KEYS[7], 0, ARGV[1])
            if onWorker > 0 then redis.call('HINCRBY', KEYS[6], ARGV[4], -onWorker) end
            local removed = redis.call('ZREM', KEYS[3], ARGV[1]) + onWorker
            if removed == 0 then
              \(clock)
              redis.call('ZADD', KEYS[9], now, ARGV[1])
            end
            if ARGV[5] == '1' then
              redis.call('RPUSH', KEYS[8], ARGV[6])
              redis.call('LTRIM', KEYS[8], -10000, -1)
            end
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'k', 'task', 's', ARGV[2])
            return removed
            """
    )

    /// Before a cancel's MySQL write: each task a worker has claimed
    /// answers its claim (the cancel counts that attempt); each other one is
    /// held (`cancelHold`), so no take starts it until the cancel is
    /// written (`releaseCancelHolds`). KEYS: claims. ARGV: task ids.
    /// Returns, per task, its worker's claim or ''.
    public static let holdForCancel = RedisScript(
        name: "hold_for_cancel",
        source: """
            #!lua
            \(clock)
            local claims = {}
            for i = 1, #ARGV do
              local held = redis.call('HGET', KEYS[1], ARGV[i])
              if held and string.sub(held, 1, \(cancelHold.utf8.count)) == '\(cancelHold)' then held = false end
              if held then
                claims[i] = held
              else
                redis.call('HSET', KEYS[1], ARGV[i], '\(cancelHold)' .. now)
                claims[i] = ''
              end
            end
            return claims
            """
    )

    /// After a cancel's MySQL write (or its failure): drops its holds.
    /// KEYS: claims. ARGV: task ids.
    public static let releaseCancelHolds = RedisScript(
        name: "release_cancel_holds",
        source: """
            #!lua
            for i = 1, #ARGV do
              local held = redis.call('HGET', KEYS[1], ARGV[i])
              if held and string.sub(held, 1, \(cancelHold.utf8.count)) == '\(cancelHold)' then redis.call('HDEL', KEYS[1], ARGV[i]) end
            end
            return 1
            """
    )

    // MARK: leader election

    /// KEYS: leader, epoch. ARGV: `<node>|<token>`, TTL ms.
    /// Takes the lock if free, or if this node holds it (a previous
    /// incarnation, with another token, is a process that is gone), so a
    /// leader restarted at once does not leave the cluster leaderless for a
    /// TTL. Returns the new epoch, or 0.
    public static let acquireLeadership = RedisScript(
        name: "acquire_leadership",
        source: """
            #!lua
            local holder = redis.call('GET', KEYS[1])
            local node = string.match(ARGV[1], '^(.*|)')
            if holder and string.sub(holder, 1, #node) == node then holder = false end
            if holder then return 0 end
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return redis.call('INCR', KEYS[2])
            """
    )

    /// KEYS: leader. ARGV: `<node>|<token>`, TTL ms. 1 while the caller still holds the lock.
    public static let renewLeadership = RedisScript(
        name: "renew_leadership",
        source: """
            #!lua
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            return 0
            """
    )

    /// Deletes a key only while it holds the caller's value: the leader lock
    /// (`<node>|<token>`) or a node id's claim (the incarnation), released by
    /// its holder and never by a successor that took it meanwhile.
    /// KEYS: the key. ARGV: the value the caller set.
    public static let releaseIfHeld = RedisScript(
        name: "release_if_held",
        source: """
            #!lua
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """
    )

    /// KEYS: leader, epoch. ARGV: `<node>|<token>`, floor. Lifts the epoch to
    /// at least `floor` while the caller holds the lock (after Redis lost its
    /// data, the epoch restarted from 1); returns it, or 0 without the lock.
    public static let raiseEpoch = RedisScript(
        name: "raise_epoch",
        source: """
            #!lua
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
            if epoch < tonumber(ARGV[2]) then
              epoch = tonumber(ARGV[2])
              redis.call('SET', KEYS[2], epoch)
            end
            return epoch
            """
    )

    // MARK: dispatch

    /// Moves up to a batch of tasks from the priority queues to worker queues.
    /// Fenced: refuses (error FENCED) unless the caller holds the leader lock.
    /// Each queue is read a window at a time from its head: a type that cannot
    /// run now (at its `max_concurrency` or rate limit, or no live worker with
    /// a free slot runs it) is skipped for the round, so it never holds back
    /// the types behind it; within a type, order is kept. High-priority work
    /// goes to the worker's high queue, which the worker takes first, and the
    /// worker's bell rings (for high work its high lane's bell too).
    /// An entry with a tombstone (its task was cancelled while it waited) is
    /// dropped when the window reaches it; one of a paused type is parked on
    /// its type's list (order kept) until the type resumes, and so is one of
    /// a configured type no live worker runs (`workerCapabilities`), until
    /// one does (`unserved_types`): a backlog longer than the window never
    /// holds back the types behind it.
    /// When the roster lacks a live worker (one registered since), the round
    /// moves nothing, so that the next, with it, shares the batch with it
    /// (a worker gone is skipped); an entry of a type to park whose parked
    /// list the roster lacks stays where it is. Either way the round says so
    /// and the caller runs another at once with the roster corrected.
    /// KEYS: leader, high queue, normal queue, workers, limits, in-use, scheduled total, round-robin cursor, tombstones,
    /// parked types, rate counts, then the roster's (`WorkerKeySet.dispatch` for each worker).
    /// ARGV: `<node>|<token>`, batch, heartbeat TTL ms, strategy,
    ///       weight high, weight normal (0 and 0: strict priority), look-ahead window,
    ///       share of each worker's capacity kept for high work (percent), then the roster.
    /// A worker holds (queued and in flight) at most its `window` (what its
    /// pipeline needs to keep its executors busy), or its `capacity` when it
    /// publishes none; high work may take it past its window by its
    /// capacity, so a window full of normal work never holds a high task
    /// back (the worker takes high first).
    /// Normal work fills a worker only up to its window less that share, so
    /// a high task finds a free slot at once even when normal work saturates
    /// the cluster, instead of waiting for a slot to free.
    /// Liveness and rate windows use Redis's clock (`TIME`), never a node's;
    /// a type's starts in the current second are one field of a hash
    /// (`<second>:<count>`), not a key per type and second.
    /// Returns `rosterReply` of a flat list: entry, worker id, entry, worker id, …
    public static let dispatch = RedisScript(
        name: "dispatch",
        source: """
            #!lua
            \(fence)
            \(clock)
            local batch, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
            local strategy = ARGV[4]
            local wh, wn = tonumber(ARGV[5]), tonumber(ARGV[6])
            local window = tonumber(ARGV[7]) or 1
            local reserve = tonumber(ARGV[8]) or 0
            \(roster(argument: 9, key: 12, perWorker: WorkerKeySet.dispatch.count))
            local tombstones = redis.call('ZCARD', KEYS[9]) > 0
            \(workerCapabilities)
            local workers = liveWorkers(KEYS[4], ttl, 'window')
            if rosterAgain then return rosterReply({}) end
            for _, w in ipairs(workers) do
              local at, info = w.at, w.info
              local cap = tonumber(info[5] or info[1])
              w.queue, w.high, w.inflight, w.bell, w.highBell = KEYS[at + 1], KEYS[at + 2], KEYS[at + 3], KEYS[at + 4], KEYS[at + 5]
              w.cap = cap
              w.normalCap = w.cap - math.floor(w.cap * reserve / 100)
              -- High work may go past a published window by the worker's
              -- capacity: a window full of normal work never makes it wait.
              if info[5] then w.cap = cap + tonumber(info[1]) end
              w.load = redis.call('LLEN', w.queue) + redis.call('LLEN', w.high) + redis.call('LLEN', w.inflight)
            end
            if #workers == 0 then return rosterReply({}) end
            table.sort(workers, function(a, b) return a.id < b.id end)
            local rr = tonumber(redis.call('GET', KEYS[8]) or '0')
            local thisSecond = math.floor(now / 1000)
            local moved = {}

            -- Per type, for this round: its limits and the live workers that run it (read once).
            local typeInfo = {}
            local function limits(t)
              local state = typeInfo[t]
              if state then return state end
              state = { maxconc = 0, rate = 0, paused = false, runners = {}, started = 0 }
              local limit = redis.call('HGET', KEYS[5], t)
              -- Unknown (no row: deleted, or not copied yet): never parked,
              -- as nothing would report or give back its entries.
              state.known = limit ~= false
              if limit then
                local a, b, c = string.match(limit, '^(%d+)|(%d+)|?(%d*)')
                state.maxconc, state.rate, state.paused = tonumber(a) or 0, tonumber(b) or 0, c == '1'
              end
              if state.rate > 0 then
                -- Its starts in this second, read once a round: `<second>:<count>`, of an older second when none yet.
                local s, c = string.match(redis.call('HGET', KEYS[11], t) or '', '^(%d+):(%d+)$')
                if tonumber(s) == thisSecond then state.started = tonumber(c) end
              end
              local need = needOf(limit)
              for _, w in ipairs(workers) do
                if runsType(w, t, need) then table.insert(state.runners, w) end
              end
              typeInfo[t] = state
              return state
            end
            -- Per type and priority: true once it cannot run this round.
            local blocked = {}

            -- Moves `entry` of type `t` to a worker, or reports that its type is blocked.
            local function move(queue, entry, t)
              local high = string.sub(entry, 1, 1) == '1'
              local lane = (high and 'h' or 'n') .. t
              if blocked[lane] then return false end
              local state = limits(t)
              if state.maxconc > 0 and tonumber(redis.call('HGET', KEYS[6], t) or '0') >= state.maxconc then blocked[lane] = true; return false end
              if state.rate > 0 and state.started >= state.rate then blocked[lane] = true; return false end
              local eligible = {}
              for _, w in ipairs(state.runners) do
                if w.load < (high and w.cap or w.normalCap) then table.insert(eligible, w) end
              end
              if #eligible == 0 then blocked[lane] = true; return false end
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
              redis.call('LREM', queue, 1, entry)
              if high then redis.call('RPUSH', best.high, entry) else redis.call('RPUSH', best.queue, entry) end
              best.load = best.load + 1
              best.rung = true
              if high then best.rungHigh = true end
              redis.call('HINCRBY', KEYS[6], t, 1)
              if state.rate > 0 then
                state.started = state.started + 1
                state.rateChanged = true
              end
              table.insert(moved, entry)
              table.insert(moved, best.id)
              return true
            end

            local function anyFree(high)
              for _, w in ipairs(workers) do
                if w.load < (high and w.cap or w.normalCap) then return true end
              end
              return false
            end

            -- The window of each queue, read once per round; `first` skips what was taken.
            local windows = {}
            local function place(queue)
              if not anyFree(queue == KEYS[2]) then return 'blocked' end
              local w = windows[queue]
              if not w then
                w = { entries = redis.call('LRANGE', queue, 0, window - 1), taken = {}, first = 1 }
                windows[queue] = w
              end
              if #w.entries == 0 then return 'empty' end
              for i = w.first, #w.entries do
                if not w.taken[i] then
                  local entry = w.entries[i]
                  local t = string.match(entry, '^%d|[^|]+|([^|]+)') or ''
                  if tombstones and redis.call('ZREM', KEYS[9], entry) == 1 then
                    redis.call('LREM', queue, 1, entry)
                    w.taken[i] = true
                  elseif limits(t).paused or (limits(t).known and #limits(t).runners == 0) then
                    local list = parkedKeys[t]
                    if list then
                      redis.call('LREM', queue, 1, entry)
                      redis.call('RPUSH', list, entry)
                      redis.call('SADD', KEYS[10], t)
                      w.taken[i] = true
                    else
                      -- Its parked list is not in the roster: the entry waits for the next round, which gets it.
                      rosterLacksType(t)
                    end
                  elseif move(queue, entry, t) then
                    w.taken[i] = true
                    while w.taken[w.first] do w.first = w.first + 1 end
                    return 'ok'
                  end
                  while w.taken[w.first] do w.first = w.first + 1 end
                end
              end
              return 'blocked'
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
            for t, state in pairs(typeInfo) do
              if state.rateChanged then redis.call('HSET', KEYS[11], t, thisSecond .. ':' .. state.started) end
            end
            for _, w in ipairs(workers) do
              if w.rung then
                \(ring("w.bell"))
              end
              if w.rungHigh then
                \(ring("w.highBell"))
                -- A worker that never blocks on it (one of an older release) leaves no key for good.
                redis.call('PEXPIRE', w.highBell, 60000)
              end
            end
            return rosterReply(moved)
            """
    )

    /// Moves due tasks (by Redis's clock) from the delayed set to the back of
    /// their queues. Fenced like `dispatch`.
    /// KEYS: leader, delayed set, high queue, normal queue, wake list. ARGV: `<node>|<token>`, limit.
    /// Returns how many moved, the earliest due time left (ms, or -1) and Redis's time (ms).
    public static let promoteDue = RedisScript(
        name: "promote_due",
        source: """
            #!lua
            \(fence)
            \(clock)
            local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
            for _, entry in ipairs(due) do
              redis.call('ZREM', KEYS[2], entry)
              if string.sub(entry, 1, 1) == '1' then redis.call('RPUSH', KEYS[3], entry) else redis.call('RPUSH', KEYS[4], entry) end
            end
            if #due > 0 then
              \(ring("KEYS[5]"))
            end
            local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
            return {#due, first[2] and math.floor(tonumber(first[2])) or -1, now}
            """
    )

    /// Workers whose last heartbeat is older than the TTL, by Redis's clock.
    /// KEYS: workers. ARGV: heartbeat TTL ms.
    public static let expiredWorkers = RedisScript(
        name: "expired_workers",
        source: """
            #!lua flags=no-writes
            \(clock)
            return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
            """
    )

    /// Declares a worker dead, unless it beat within the TTL (re-checked here,
    /// atomically, by Redis's clock). A dead worker leaves the registry, is
    /// retired (a later heartbeat of it is refused) and waits in the reclaim
    /// set until its tasks are back (MySQL first, then `reclaim_worker`).
    /// Fenced. KEYS: leader, workers, retired, reclaim set. ARGV: `<node>|<token>`, worker id, TTL ms.
    /// Returns 1 when declared dead, 0 when the worker is alive.
    public static let declareDead = RedisScript(
        name: "declare_dead",
        source: """
            #!lua
            \(fence)
            \(clock)
            local beat = redis.call('ZSCORE', KEYS[2], ARGV[2])
            if beat and tonumber(beat) >= now - tonumber(ARGV[3]) then return 0 end
            redis.call('ZREM', KEYS[2], ARGV[2])
            redis.call('ZADD', KEYS[3], now, ARGV[2])
            redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 86400000)
            redis.call('SADD', KEYS[4], ARGV[2])
            return 1
            """
    )

    /// Gives a worker declared dead its tasks back: its queue and in-flight
    /// list go to the front of their priority queues (in-flight first, order
    /// kept), its type slots are freed, and it leaves the reclaim set. Runs
    /// only for a worker in the reclaim set, so a repeat changes nothing.
    /// Fenced. KEYS: leader, reclaim set, high queue, normal queue, in-use, wake list,
    /// then the worker's queue, high queue, in-flight list, bell, high bell, cancel list, hash.
    /// ARGV: `<node>|<token>`, worker id. Returns how many entries went back, or -1.
    public static let reclaimWorker = RedisScript(
        name: "reclaim_worker",
        source: """
            #!lua
            \(fence)
            if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return -1 end
            local queued = redis.call('LRANGE', KEYS[7], 0, -1)
            local high = redis.call('LRANGE', KEYS[8], 0, -1)
            local inflight = redis.call('LRANGE', KEYS[9], 0, -1)
            \(requeueFront(high: "KEYS[3]", normal: "KEYS[4]", inUse: "KEYS[5]"))
            requeueFront(queued)
            requeueFront(high)
            requeueFront(inflight)
            \(releaseClaim(claims: "KEYS[14]"))
            for _, entry in ipairs(inflight) do releaseClaim(entry, ARGV[2]) end
            redis.call('DEL', KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13])
            redis.call('SREM', KEYS[2], ARGV[2])
            local moved = #queued + #high + #inflight
            if moved > 0 then
              \(ring("KEYS[6]"))
            end
            return moved
            """
    )

    // MARK: worker

    /// A new incarnation of a node's worker takes over the node: the previous
    /// one (a crashed process restarted at once) is retired and put in the
    /// reclaim set, so the leader gives its tasks back without waiting for
    /// its heartbeat to expire. KEYS: node's worker, workers, retired, reclaim set.
    /// ARGV: worker id. Returns the previous incarnation's id, or nil.
    public static let registerWorker = RedisScript(
        name: "register_worker",
        source: """
            #!lua
            local previous = redis.call('GET', KEYS[1])
            redis.call('SET', KEYS[1], ARGV[1])
            if not previous or previous == ARGV[1] then return false end
            \(clock)
            redis.call('ZREM', KEYS[2], previous)
            redis.call('ZADD', KEYS[3], now, previous)
            redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 86400000)
            redis.call('SADD', KEYS[4], previous)
            return previous
            """
    )

    /// Claims (or refreshes) a node id for one incarnation with a TTL: set
    /// when free, already ours, or held by the incarnation named in ARGV[3]
    /// (one the caller proved dead). Else returns the holder and its PTTL.
    /// KEYS: node presence. ARGV: incarnation, TTL ms, incarnation to replace (or '').
    public static let claimNode = RedisScript(
        name: "claim_node",
        source: """
            #!lua
            local holder = redis.call('GET', KEYS[1])
            if holder and holder ~= ARGV[1] and holder ~= ARGV[3] then
              return {holder, redis.call('PTTL', KEYS[1])}
            end
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return false
            """
    )


    /// Refreshes a worker's registration, stamped with Redis's clock; refused
    /// (0) for a worker that was declared dead. KEYS: workers, worker hash, retired.
    /// ARGV: worker id, TTL ms, then field/value pairs.
    public static let heartbeat = RedisScript(
        name: "heartbeat",
        source: """
            #!lua
            if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
            \(clock)
            local fields = {}
            for i = 3, #ARGV do table.insert(fields, ARGV[i]) end
            redis.call('HSET', KEYS[2], 'heartbeat_ms', now, unpack(fields))
            redis.call('PEXPIRE', KEYS[2], ARGV[2])
            redis.call('ZADD', KEYS[1], now, ARGV[1])
            return 1
            """
    )

    /// Sets a registered worker's window; a hash that expired is not brought
    /// back without its heartbeat. KEYS: worker hash. ARGV: window.
    public static let publishWindow = RedisScript(
        name: "publish_window",
        source: """
            #!lua
            if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
            redis.call('HSET', KEYS[1], 'window', ARGV[1])
            return 1
            """
    )

    /// Leaves the registry on a graceful stop, but only with nothing left on
    /// the worker's lists: otherwise the worker stays registered, its
    /// heartbeat expires, and the leader recovers what it held (MySQL first).
    /// KEYS: workers, worker hash, queue, in-flight, node's worker, high queue, bell, cancel list, high bell. ARGV: worker id.
    public static let deregisterWorker = RedisScript(
        name: "deregister_worker",
        source: """
            #!lua
            if redis.call('LLEN', KEYS[3]) + redis.call('LLEN', KEYS[4]) + redis.call('LLEN', KEYS[6]) > 0 then return 0 end
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('DEL', KEYS[2], KEYS[7], KEYS[8], KEYS[9])
            if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
            return 1
            """
    )

    /// Puts what waits on a stopping worker's queues (never started) back at
    /// the front of the priority queues. KEYS: queue, high queue, cluster high
    /// queue, cluster normal queue, in-use, wake list.
    public static let handBackQueued = RedisScript(
        name: "hand_back_queued",
        source: """
            #!lua
            \(requeueFront(high: "KEYS[3]", normal: "KEYS[4]", inUse: "KEYS[5]"))
            local moved = 0
            for _, key in ipairs({KEYS[1], KEYS[2]}) do
              local queued = redis.call('LRANGE', key, 0, -1)
              requeueFront(queued)
              moved = moved + #queued
            end
            redis.call('DEL', KEYS[1], KEYS[2])
            if moved > 0 then
              \(ring("KEYS[6]"))
            end
            return moved
            """
    )

    /// Moves up to N entries from a worker's queues to its in-flight list,
    /// in the order of the queues given (high priority first), and claims
    /// each task for this worker (`<generation>|<worker>|<ms>` in the claims
    /// hash): the claim, not a MySQL write, is what keeps a second copy of an
    /// entry from running while the first runs (docs/deferred-start.md). An
    /// entry whose task is claimed at its generation or a later one is a
    /// copy: dropped here as an ack drops it (its type's slot freed).
    /// KEYS: the queues, then the in-flight list, in-use counts, claims.
    /// ARGV: N, worker id.
    public static let take = RedisScript(
        name: "take",
        source: """
            #!lua
            \(entryTask)
            \(clock)
            local taken = {}
            local n = tonumber(ARGV[1])
            local inflight, inUse, claims = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
            for q = 1, #KEYS - 3 do
              while #taken < n do
                local entry = redis.call('LMOVE', KEYS[q], inflight, 'LEFT', 'RIGHT')
                if not entry then break end
                local id, generation, taskType = entryTask(entry)
                local held = id and redis.call('HGET', claims, id)
                local heldGeneration = held and tonumber(string.match(held, '^(%d+)|'))
                if heldGeneration and heldGeneration >= generation then
                  redis.call('RPOP', inflight)
                  redis.call('HINCRBY', inUse, taskType, -1)
                else
                  if id then redis.call('HSET', claims, id, generation .. '|' .. ARGV[2] .. '|' .. now) end
                  table.insert(taken, entry)
                end
              end
            end
            return taken
            """
    )

    /// Acknowledges finished attempts: drops them from the in-flight list,
    /// frees their type's slot, schedules retries (the entry of the task's
    /// next generation), announces watched changes, and wakes the dispatcher.
    /// Fenced when ARGV[2] holds a lock value (the leader's timeout recovery).
    /// Each attempt's claim goes with its entry (only the worker's own: a
    /// claim another worker took since, after a reclaim, stays).
    /// KEYS: in-flight, in-use, delayed set, events, watched, wake list, delayed wake list, leader, restore's held set, claims.
    /// ARGV: stream max length, lock value or '', worker id, then per task: entry, retry due ms (or 0), retry entry (or '').
    public static let acknowledge = RedisScript(
        name: "acknowledge",
        source: """
            #!lua
            if ARGV[2] ~= '' and redis.call('GET', KEYS[8]) ~= ARGV[2] then return redis.error_reply('FENCED not the leader') end
            \(releaseClaim(claims: "KEYS[10]"))
            local delayed = false
            local restoring = redis.call('EXISTS', KEYS[9]) == 1
            for i = 4, #ARGV, 3 do
              local entry, due, again = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
              releaseClaim(entry, ARGV[3])
              if redis.call('LREM', KEYS[1], 1, entry) > 0 then
                local t = string.match(entry, '^%d|[^|]+|([^|]+)')
                if t then redis.call('HINCRBY', KEYS[2], t, -1) end
              end
              if due > 0 then
                redis.call('ZADD', KEYS[3], due, again)
                if restoring then redis.call('SADD', KEYS[9], again) end
                delayed = true
              end
              local id = string.match(entry, '^%d|([^|]+)|')
              if id and redis.call('ZSCORE', KEYS[5], id) then
                redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'k', 'task', 's', id)
              end
            end
            \(ring("KEYS[6]"))
            if delayed then
              \(ring("KEYS[7]"))
            end
            return 1
            """
    )

    /// Puts in-flight entries the worker will not run back at the front of
    /// their queues (a start refused while the task still waits, no slot
    /// within the ready limit, a graceful stop), their claims released.
    /// KEYS: in-flight, high queue, normal queue, in-use, wake list, claims. ARGV: worker id, entries.
    public static let handBackInFlight = RedisScript(
        name: "hand_back_in_flight",
        source: """
            #!lua
            \(requeueFront(high: "KEYS[2]", normal: "KEYS[3]", inUse: "KEYS[4]"))
            \(releaseClaim(claims: "KEYS[6]"))
            local back = {}
            for i = 2, #ARGV do
              local entry = ARGV[i]
              if redis.call('LREM', KEYS[1], 1, entry) > 0 then table.insert(back, entry) end
              releaseClaim(entry, ARGV[1])
            end
            requeueFront(back)
            \(ring("KEYS[5]"))
            return 1
            """
    )

    /// Announces a change of each watched task among ARGV[2…]. KEYS: events, watchers. ARGV: max length, ids.
    public static let announce = RedisScript(
        name: "announce",
        source: """
            #!lua
            for i = 2, #ARGV do
              if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'k', 'task', 's', ARGV[i])
              end
            end
            return 1
            """
    )

    /// Puts tasks back on their queues unless some Redis structure holds them
    /// (reconciliation after a crash or a Redis data loss). One pass over
    /// what Redis holds per call, not one per task; atomic, so a task moving
    /// between structures is never mistaken for a lost one. Fenced.
    /// Changes nothing unless the roster holds every registered worker's lists
    /// and every parked type's (`rosterCovers`): the caller runs it again.
    /// KEYS: leader, high queue, normal queue, delayed set, workers, wake list, parked types, then the roster's
    /// (`WorkerKeySet.lists` for each worker).
    /// ARGV: `<node>|<token>`, the roster, entries.
    /// Returns `rosterReply` of how many were put back (-1: nothing done).
    public static let requeueMissing = RedisScript(
        name: "requeue_missing",
        source: """
            #!lua
            \(fence)
            \(roster(argument: 2, key: 8, perWorker: WorkerKeySet.lists.count))
            \(rosterCoverage)
            if not rosterCovers(KEYS[5], KEYS[7]) then return rosterReply(-1) end
            local held = {}
            local function mark(entries) for _, e in ipairs(entries) do held[e] = true end end
            mark(redis.call('LRANGE', KEYS[2], 0, -1))
            mark(redis.call('LRANGE', KEYS[3], 0, -1))
            mark(redis.call('ZRANGE', KEYS[4], 0, -1))
            for _, list in ipairs(coveredLists) do mark(redis.call('LRANGE', list, 0, -1)) end
            local requeued = 0
            for i = rosterNext, #ARGV do
              local entry = ARGV[i]
              if not held[entry] then
                if string.sub(entry, 1, 1) == '1' then redis.call('RPUSH', KEYS[2], entry) else redis.call('RPUSH', KEYS[3], entry) end
                held[entry] = true
                requeued = requeued + 1
              end
            end
            if requeued > 0 then
              \(ring("KEYS[6]"))
            end
            return rosterReply(requeued)
            """
    )

    /// Starts a restore after Redis lost its data: the set of entries Redis
    /// holds (queues, delayed set, live workers' lists) is written once, so
    /// each page of the restore checks its entries in O(1) each: the whole
    /// restore is O(tasks), not O(tasks × Redis size). A set left by a
    /// restore cut short is kept (the restore resumes). Fenced.
    /// Changes nothing unless the roster holds every registered worker's lists
    /// and every parked type's (`rosterCovers`): the caller runs it again.
    /// KEYS: leader, held set, high queue, normal queue, delayed set, workers, parked types, then the roster's
    /// (`WorkerKeySet.lists` for each worker).
    /// ARGV: `<node>|<token>`, the roster.
    /// Returns `rosterReply` of how many entries the set got (0: it was there, -1: nothing done).
    public static let beginRestore = RedisScript(
        name: "begin_restore",
        source: """
            #!lua
            \(fence)
            \(roster(argument: 2, key: 8, perWorker: WorkerKeySet.lists.count))
            if redis.call('EXISTS', KEYS[2]) == 1 then return rosterReply(0) end
            \(rosterCoverage)
            if not rosterCovers(KEYS[6], KEYS[7]) then return rosterReply(-1) end
            redis.call('SADD', KEYS[2], '')
            local count = 0
            local function mark(entries)
              for i = 1, #entries, 1000 do
                redis.call('SADD', KEYS[2], unpack(entries, i, math.min(i + 999, #entries)))
              end
              count = count + #entries
            end
            mark(redis.call('LRANGE', KEYS[3], 0, -1))
            mark(redis.call('LRANGE', KEYS[4], 0, -1))
            mark(redis.call('ZRANGE', KEYS[5], 0, -1))
            for _, list in ipairs(coveredLists) do mark(redis.call('LRANGE', list, 0, -1)) end
            return rosterReply(count)
            """
    )

    /// One page of a restore: each entry not in the held set goes back on its
    /// queue and joins the set. Fenced.
    /// KEYS: leader, held set, high queue, normal queue, wake list. ARGV: `<node>|<token>`, entries.
    /// Returns how many were put back.
    public static let restorePage = RedisScript(
        name: "restore_page",
        source: """
            #!lua
            \(fence)
            local restored = 0
            for i = 2, #ARGV do
              local entry = ARGV[i]
              if redis.call('SADD', KEYS[2], entry) == 1 then
                if string.sub(entry, 1, 1) == '1' then redis.call('RPUSH', KEYS[3], entry) else redis.call('RPUSH', KEYS[4], entry) end
                restored = restored + 1
              end
            end
            if restored > 0 then
              \(ring("KEYS[5]"))
            end
            return restored
            """
    )

    /// The types no live worker runs (none that takes work advertises what
    /// the type's executor needs, `workerCapabilities`), each with how many
    /// of its entries the dispatcher parked: what GetStats reports, and the
    /// parked types the leader leaves parked. Read-only.
    /// Answers nothing when the roster lacks a live worker's hash or an
    /// unserved type's parked list: the caller runs it again.
    /// KEYS: workers, limits, then the roster's (`WorkerKeySet.registration`
    /// for each worker). ARGV: heartbeat TTL ms (0: every worker whose hash
    /// has not expired, as GetStats lists them), the roster.
    /// Returns `rosterReply` of a flat list: type, parked entries, type, parked entries, …
    public static let unservedTypes = RedisScript(
        name: "unserved_types",
        source: """
            #!lua flags=no-writes
            \(clock)
            \(roster(argument: 2, key: 3, perWorker: WorkerKeySet.registration.count))
            \(workerCapabilities)
            local workers = liveWorkers(KEYS[1], tonumber(ARGV[1]))
            if rosterAgain then return rosterReply({}) end
            local limits = redis.call('HGETALL', KEYS[2])
            local unserved = {}
            for i = 1, #limits, 2 do
              local t, need = limits[i], needOf(limits[i + 1])
              local served = false
              for _, w in ipairs(workers) do
                if runsType(w, t, need) then served = true; break end
              end
              if not served then
                local list = parkedKeys[t]
                if list then
                  table.insert(unserved, t)
                  table.insert(unserved, redis.call('LLEN', list))
                else
                  rosterLacksType(t)
                end
              end
            end
            if rosterAgain then return rosterReply({}) end
            return rosterReply(unserved)
            """
    )

    /// Sets types' limits, each only over an older version (a value without
    /// one, of an older release, counts as version 0).
    /// KEYS: limits. ARGV: per type: type, value, version.
    public static let setLimits = RedisScript(
        name: "set_limits",
        source: """
            #!lua
            for i = 1, #ARGV, 3 do
              local current = redis.call('HGET', KEYS[1], ARGV[i])
              local version = current and tonumber(string.match(current, '^%d+|%d+|%d*|(%d+)') or '0') or -1
              if tonumber(ARGV[i + 2]) >= version then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
            end
            return 1
            """
    )

    /// Gives a resumed type's parked entries back, up to ARGV[1] of them a
    /// call, from the newest: each goes to the front of its priority queue,
    /// so once the list is empty they lead the queues in their old order.
    /// KEYS: parked list, parked types, high queue, normal queue, wake list. ARGV: count, type.
    /// Returns how many are left.
    public static let unpark = RedisScript(
        name: "unpark",
        source: """
            #!lua
            for _ = 1, tonumber(ARGV[1]) do
              local entry = redis.call('RPOP', KEYS[1])
              if not entry then break end
              if string.sub(entry, 1, 1) == '1' then redis.call('LPUSH', KEYS[3], entry) else redis.call('LPUSH', KEYS[4], entry) end
            end
            local left = redis.call('LLEN', KEYS[1])
            if left == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
            \(ring("KEYS[5]"))
            return left
            """
    )

    /// Defines `requeueFront(entries)`: puts entries back at the front of
    /// their priority queue, in their order, and frees their type's slot
    /// (they were on a worker). The arguments are Lua expressions of keys.
    static func requeueFront(high: String, normal: String, inUse: String) -> String {
        """
        local function requeueFront(entries)
          for i = #entries, 1, -1 do
            local entry = entries[i]
            if string.sub(entry, 1, 1) == '1' then redis.call('LPUSH', \(high), entry) else redis.call('LPUSH', \(normal), entry) end
            local t = string.match(entry, '^%d|[^|]+|([^|]+)')
            if t then redis.call('HINCRBY', \(inUse), t, -1) end
          end
        end
        """
    }

    /// Pushes a wake-up to the list `key` (a Lua expression), keeping at most
    /// one: a sleeper blocked on it wakes, and wake-ups never pile up.
    static func ring(_ key: String) -> String {
        "redis.call('LPUSH', \(key), 1); redis.call('LTRIM', \(key), 0, 0)"
    }

    /// Who runs what, as the dispatch and `unserved_types` scripts both read
    /// it (needs `now` and the `roster`, whose first key of a worker is its hash). Defines:
    /// - `liveWorkers(registry, ttl, ...)`: the workers of the `registry` that take work (a beat
    ///   within `ttl` ms, or with ttl 0 a hash not yet expired; not draining)
    ///   and whose keys the roster holds (one it lacks: `rosterAgain`),
    ///   each `{ id, at, info }` where `at` is the index of its first key and `info`
    ///   holds the hash fields capacity, types, draining, executors, then `...`;
    /// - `needOf(limit)`: the capability a type's limits value names
    ///   (`TypeLimits.value`), as `,capability,`; nil when it names none (a
    ///   type the leader has not copied yet, or a copy of an older release):
    ///   such a type runs on any worker, as before workers advertised;
    /// - `runsType(w, t, need)`: whether the worker's `types` (`*`: all) allow
    ///   `t` and its `executors` hold `need` (a worker that advertises no
    ///   executors, of an older release, runs every executor).
    static let workerCapabilities = """
        local function liveWorkers(registry, ttl, ...)
          local live = {}
          local scored = redis.call('ZRANGE', registry, 0, -1, 'WITHSCORES')
          for i = 1, #scored, 2 do
            local id = scored[i]
            local at = rosterAt[id]
            if ttl == 0 or tonumber(scored[i + 1]) >= now - ttl then
              if not at then
                rosterAgain = true
              else
                local hash = KEYS[at]
                local info = redis.call('HMGET', hash, 'capacity', 'types', 'draining', 'executors', ...)
                if info[1] and info[3] ~= '1' then
                  local w = { id = id, at = at, info = info }
                  if info[2] and info[2] ~= '' and info[2] ~= '*' then
                    w.types = {}
                    for t in string.gmatch(info[2], '[^,]+') do w.types[t] = true end
                  end
                  if info[4] and info[4] ~= '' then w.runs = ',' .. info[4] .. ',' end
                  table.insert(live, w)
                end
              end
            end
          end
          rosterCheck(scored, 2)
          return live
        end
        local function needOf(limit)
          local c = limit and string.match(limit, '^%d+|%d+|%d*|%d+|(.+)$')
          if c then return ',' .. c .. ',' end
          return nil
        end
        local function runsType(w, t, need)
          return (w.types == nil or w.types[t] == true) and (not need or w.runs == nil or string.find(w.runs, need, 1, true) ~= nil)
        end
        """

    /// The key roster (`KeyRoster`) a script gets from its caller, so that it
    /// builds no key: ARGV from `argument`: the number of workers W, their
    /// ids, the number of types P, the types; KEYS from `key`: `perWorker`
    /// keys of each worker (`WorkerKeySet`), in the order of the ids, then
    /// each type's parked list. Defines:
    /// - `rosterAt[id]`: the index in KEYS of a worker's first key;
    /// - `parkedKeys[t]`: a type's parked list;
    /// - `rosterNext`: the first ARGV index after the roster;
    /// - `rosterCheck(ids, step)`: compares the roster's workers with the
    ///   registry's members, every `step`-th of `ids` (2: a reply WITHSCORES;
    ///   the reply then carries them when they differ);
    /// - `rosterAgain`: set when the script needed a key the roster lacks,
    ///   `rosterLacksType(t)` when it was a type's parked list;
    /// - `rosterReply(result)`: `{result, 1 to run again with the roster
    ///   corrected else 0, the registry's members when they differ from the
    ///   roster's workers else false, the types whose list was missing}`.
    static func roster(argument: Int, key: Int, perWorker: Int) -> String {
        """
        local rosterAt, parkedKeys = {}, {}
        local rosterWorkers = tonumber(ARGV[\(argument)])
        for i = 1, rosterWorkers do rosterAt[ARGV[\(argument) + i]] = \(key) + (i - 1) * \(perWorker) end
        local rosterTypes = tonumber(ARGV[\(argument) + rosterWorkers + 1])
        for i = 1, rosterTypes do
          parkedKeys[ARGV[\(argument) + rosterWorkers + 1 + i]] = KEYS[\(key) + rosterWorkers * \(perWorker) + i - 1]
        end
        local rosterNext = \(argument) + rosterWorkers + rosterTypes + 2
        local rosterAgain, rosterMembers, rosterAsked, rosterMissing = false, false, {}, {}
        local function rosterCheck(ids, step)
          local same = #ids == rosterWorkers * step
          for i = 1, #ids, step do
            if not rosterAt[ids[i]] then same = false end
          end
          if not same then
            rosterMembers = {}
            for i = 1, #ids, step do table.insert(rosterMembers, ids[i]) end
          end
        end
        local function rosterLacksType(t)
          rosterAgain = true
          if not rosterAsked[t] then
            rosterAsked[t] = true
            table.insert(rosterMissing, t)
          end
        end
        local function rosterReply(result) return {result, rosterAgain and 1 or 0, rosterMembers, rosterMissing} end
        """
    }

    /// Defines `rosterCovers(registry, parkedTypes)` (needs the `roster` of
    /// `WorkerKeySet.lists`): true when the roster holds the lists of every
    /// registered worker and of every parked type, all then in
    /// `coveredLists`; false when it lacks one (`rosterAgain`).
    static let rosterCoverage = """
        local coveredLists = {}
        local function rosterCovers(registry, parkedTypes)
          local members = redis.call('ZRANGE', registry, 0, -1)
          rosterCheck(members, 1)
          for _, id in ipairs(members) do
            local at = rosterAt[id]
            if at then
              for j = 0, \(WorkerKeySet.lists.count - 1) do table.insert(coveredLists, KEYS[at + j]) end
            else
              rosterAgain = true
            end
          end
          for _, t in ipairs(redis.call('SMEMBERS', parkedTypes)) do
            local list = parkedKeys[t]
            if list then table.insert(coveredLists, list) else rosterLacksType(t) end
          end
          return not rosterAgain
        end
        """

    /// Refuses unless the caller holds the leader lock (KEYS[1], ARGV[1]).
    static let fence = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED not the leader') end"

    /// `entryTask(entry)`: an entry's task id, generation (a number) and type
    /// (`QueueEntry.member`); nil for a malformed one.
    static let entryTask = """
        local function entryTask(entry)
          local id, taskType, generation = string.match(entry, '^%d|([^|]+)|([^|]+)|?(%d*)$')
          if not id then return nil, 0, '' end
          return id, tonumber(generation) or 0, taskType
        end
        """

    /// `releaseClaim(entry, worker)`: drops the claim of the entry's task
    /// while it is this worker's at this entry's generation.
    static func releaseClaim(claims: String) -> String {
        """
        \(entryTask)
        local function releaseClaim(entry, worker)
          local id, generation = entryTask(entry)
          if not id then return end
          local mine = generation .. '|' .. worker .. '|'
          local held = redis.call('HGET', \(claims), id)
          if held and string.sub(held, 1, #mine) == mine then redis.call('HDEL', \(claims), id) end
        end
        """
    }

    /// `now`: Redis's clock in ms, the one clock of the cluster's decisions.
    static let clock = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"
}
