"""Baton's Redis key names, as Sources/BatonBroker/RedisKeys.swift builds
them (and the broker's Lua receives them): the one place Python spells a key.

Every name is the cluster's prefix, then ':'-joined parts, through _key().
The prefix is the namespace in braces (`{baton}:queue:high`): a Redis
Cluster hashes only the braced part (the hash tag), so a namespace's keys
share one slot (docs/redis.md). A part may be a glob ("*") to build a SCAN
pattern (braces are not special in a Redis glob)."""


class RedisKeys:
    def __init__(self, namespace="baton"):
        self.namespace = namespace

    @property
    def prefix(self):
        """What every key starts with: the namespace in braces, its hash tag."""
        return "{" + self.namespace + "}"

    def _key(self, *parts):
        return ":".join((self.prefix, *parts))

    @property
    def every_key_pattern(self):
        """A KEYS/SCAN pattern matching every key of the namespace."""
        return self._key("*")

    @property
    def untagged_pattern(self):
        """The SCAN pattern of every key of a release before the hash tag."""
        return self.namespace + ":*"

    # --- cluster-wide -------------------------------------------------------------

    @property
    def high_queue(self):
        return self._key("queue", "high")

    @property
    def normal_queue(self):
        return self._key("queue", "normal")

    def queue(self, priority):
        """The priority queue of "high" (or TaskPriority HIGH), else the normal one."""
        return self.high_queue if str(priority).lower().endswith("high") else self.normal_queue

    @property
    def claims(self):
        """Tasks a worker took and runs: `<generation>|<worker>|<ms>` by task id."""
        return self._key("claims")

    @property
    def tombstones(self):
        """Cancelled tasks' entries still on a priority queue."""
        return self._key("queue", "cancelled")

    @property
    def start_latency(self):
        return self._key("stats", "start-latency")

    @property
    def scheduled_total(self):
        return self._key("stats", "scheduled")

    @property
    def delayed(self):
        """Tasks waiting for run_at or a retry backoff, scored by due time (ms)."""
        return self._key("delayed")

    @property
    def delayed_wake(self):
        return self._key("delayed", "wake")

    @property
    def events(self):
        return self._key("events")

    @property
    def leader(self):
        return self._key("leader")

    @property
    def leader_epoch(self):
        return self._key("leader", "epoch")

    @property
    def workers(self):
        """Live workers, scored by their last heartbeat (ms)."""
        return self._key("workers")

    @property
    def retired_workers(self):
        return self._key("workers", "retired")

    @property
    def reclaim_workers(self):
        return self._key("workers", "reclaim")

    @property
    def wake(self):
        return self._key("wake")

    @property
    def in_use(self):
        """Per task type: tasks on worker queues or running (max_concurrency)."""
        return self._key("inuse")

    @property
    def limits(self):
        return self._key("limits")

    @property
    def parked_types(self):
        """Types with entries parked (paused while their tasks waited)."""
        return self._key("parked")

    def parked(self, task_type):
        """A paused type's waiting entries, set aside by the dispatcher."""
        return self._key("parked", task_type)

    @property
    def watchers(self):
        return self._key("watchers")

    @property
    def sentinel(self):
        """Present while Redis holds Baton's state; gone after a data loss."""
        return self._key("sentinel")

    @property
    def restore_held(self):
        return self._key("restore", "held")

    @property
    def dispatch_cursor(self):
        return self._key("dispatch", "rr")

    @property
    def rates(self):
        """Per rate-limited type: `<second>:<count>`, its starts in that second."""
        return self._key("rates")

    # --- per worker and node ------------------------------------------------------

    def worker(self, worker_id):
        return self._key("worker", worker_id)

    def worker_queue(self, worker_id):
        """A worker's normal-priority work (its high-priority work: worker_high_queue)."""
        return self._key("worker", worker_id, "queue")

    def worker_high_queue(self, worker_id):
        return self._key("worker", worker_id, "queue", "high")

    def worker_in_flight(self, worker_id):
        """Entries a worker took and has not finished."""
        return self._key("worker", worker_id, "inflight")

    def worker_cancels(self, worker_id):
        return self._key("worker", worker_id, "cancels")

    def worker_bell(self, worker_id):
        return self._key("worker", worker_id, "bell")

    def worker_high_bell(self, worker_id):
        return self._key("worker", worker_id, "bell", "high")

    def node_worker(self, node_id):
        return self._key("node", node_id, "worker")

    def node_presence(self, node_id):
        return self._key("node", node_id, "presence")
