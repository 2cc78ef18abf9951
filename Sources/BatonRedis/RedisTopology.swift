/// Something that decides which server new connections go to (Sentinel's
/// master, a Redis Cluster's slot owner) and whose `generation` grows each
/// time that server changes: a connection opened under an older generation
/// reports itself broken, so the pools drop it and reconnect.
protocol RedisTopology: AnyObject, Sendable {
    var generation: Int { get }
}
