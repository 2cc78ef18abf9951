import BatonPool
import CHiredis
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection. Every method blocks its thread: only the pool's
/// threads (or a reserved connection's own thread) call it, one at a time.
///
/// Over TLS (`rediss://`), hiredis still connects the socket, applies its
/// timeouts and parses replies (its reader); the bytes go through `tls`
/// instead of hiredis's own plain reads and writes.
final class RedisConnection: PoolableConnection, @unchecked Sendable {
    /// Replaced when a Redis Cluster's MOVED reply sends this connection to another node.
    private var context: UnsafeMutablePointer<redisContext>
    /// The TLS session over `context`'s socket (`rediss://`), replaced with it.
    private var tls: TLSStream?
    /// Where it is connected (updated with `context`).
    private var configuration: RedisConfiguration
    private let commandTimeout: Duration
    private var currentTimeout: Duration
    private var failed = false
    /// With Sentinel or a Redis Cluster: what chose the server, and its
    /// generation when this connection was opened to it.
    private var topology: (source: any RedisTopology, generation: Int)?

    /// Redirections followed for one command before the call fails: one
    /// MOVED after a failover, perhaps an ASK during a migration.
    static let maxRedirects = 5

    /// After an I/O error, a reply saying the server is no longer the master,
    /// or (Sentinel, Redis Cluster) once the server has changed since this
    /// connection opened.
    var isBroken: Bool {
        if self.failed { return true }
        guard let topology = self.topology else { return false }
        return topology.source.generation != topology.generation
    }

    /// A connection to `configuration`'s server, to the master its
    /// Sentinels name, or to a node of its Redis Cluster. Blocks its thread.
    static func open(configuration: RedisConfiguration, logger: Logger) throws(RedisError) -> RedisConnection {
        if let sentinel = configuration.sentinel { return try sentinel.connectToMaster(configuration: configuration, logger: logger) }
        if let cluster = configuration.cluster { return try cluster.connect(configuration: configuration, logger: logger) }
        return try RedisConnection(configuration: configuration)
    }

    init(configuration: RedisConfiguration) throws(RedisError) {
        BrokenPipe.ignore()
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            throw RedisError(.connectionFailed, "cannot allocate a hiredis context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError(.connectionFailed, "\(configuration.host):\(configuration.port): \(message)")
        }
        if let tls = configuration.tls {
            // The connect timeout bounds the handshake too.
            redisSetTimeout(context, timeval(configuration.connectTimeout))
            do {
                self.tls = try TLSStream(socket: context.pointee.fd, host: configuration.host, tls: tls)
            } catch {
                redisFree(context)
                throw RedisError(.connectionFailed, "\(configuration.host):\(configuration.port): \(error.message)")
            }
        } else {
            self.tls = nil
        }
        self.context = context
        self.configuration = configuration
        self.commandTimeout = configuration.commandTimeout
        self.currentTimeout = configuration.commandTimeout
        redisSetTimeout(context, timeval(configuration.commandTimeout))

        do {
            if let password = configuration.password {
                let auth = configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
                try self.send(auth).checked()
            } else if self.tls != nil {
                // Under TLS 1.3 a server refuses a client certificate (or its
                // absence) after the client's handshake is done: one round
                // trip here makes that fail the connect, not a later call.
                _ = try self.send(RedisCommand("PING"))
            }
            if configuration.database != 0 {
                try self.send(RedisCommand("SELECT", configuration.database)).checked()
            }
        } catch {
            self.close()
            // Never echo the password: the server's message does not contain it.
            var message = error.message
            if self.tls != nil, error.kind == .connectionLost, !message.contains("certificate") {
                // A server refusing the client certificate (or its absence)
                // may reset the connection before its alert can be read.
                message += " (right after the TLS handshake: does the server require a client certificate, cert= and key=?)"
            }
            throw RedisError(.connectionFailed, message)
        }
    }

    func close() {
        self.tls?.close()
        redisFree(self.context)
    }

    /// Ties this connection to the server `source` chose, so that it counts
    /// as broken once the source has chosen another.
    func follow(_ source: any RedisTopology, generation: Int) {
        self.topology = (source, generation)
    }

    /// Sends one command and reads its reply. Error replies are returned, not thrown.
    func send(_ command: RedisCommand, timeout: Duration? = nil) throws(RedisError) -> RESPValue {
        try self.run([command], timeout: timeout ?? self.commandTimeout)[0]
    }

    /// Writes all commands, then reads all replies: one round trip.
    func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RESPValue] {
        try self.run(commands, timeout: self.commandTimeout)
    }

    /// One round trip, then the redirections of a Redis Cluster followed,
    /// then the replies that fail the call checked.
    private func run(_ commands: [RedisCommand], timeout: Duration) throws(RedisError) -> [RESPValue] {
        try self.applyTimeout(timeout)
        var replies = try self.exchange(commands)
        try self.followRedirects(commands, &replies, timeout: timeout)
        for reply in replies {
            try self.checkStillMaster(reply)
            try Self.checkClusterServes(reply)
        }
        return replies
    }

    /// Writes the commands and reads their replies; scripts the server lacks
    /// are loaded and their commands sent again.
    private func exchange(_ commands: [RedisCommand]) throws(RedisError) -> [RESPValue] {
        try self.append(commands)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try self.readReply()) }

        // Scripts missing after a SCRIPT FLUSH or a restart: load them and rerun
        // only the commands that did not run.
        let missing = commands.indices.filter { index in
            if commands[index].script != nil, case .error(let message) = replies[index] { return message.hasPrefix("NOSCRIPT") }
            return false
        }
        if !missing.isEmpty {
            var loaded = Set<String>()
            for index in missing where loaded.insert(commands[index].script!.sha1).inserted {
                try self.load(commands[index].script!)
            }
            try self.append(missing.map { commands[$0] })
            for index in missing { replies[index] = try self.readReply() }
        }
        return replies
    }

    /// Follows MOVED and ASK replies (Redis Cluster), each for the commands
    /// that got it (they did not run; the others did and keep their reply).
    /// MOVED: the slot's master changed (a failover): this connection
    /// reconnects to it in place, tells the router (the pool's other
    /// connections then reconnect too), and sends the commands again.
    /// ASK: one command goes, once, to the node importing the slot.
    /// Outside a cluster a MOVED reply is left as the error it is.
    private func followRedirects(_ commands: [RedisCommand], _ replies: inout [RESPValue], timeout: Duration) throws(RedisError) {
        guard let router = self.topology?.source as? ClusterRouter else {
            if let redirect = replies.lazy.compactMap({ ClusterRedirect($0, from: self.configuration.host) }).first {
                throw RedisError(.server, "the server is a Redis Cluster node (it redirects to \(redirect.endpoint)): use a redis-cluster:// URL")
            }
            return
        }
        for _ in 0..<Self.maxRedirects {
            let redirects = replies.indices.compactMap { index in
                ClusterRedirect(replies[index], from: self.configuration.host).map { (index, $0) }
            }
            guard !redirects.isEmpty else { return }
            let moved = redirects.filter { $0.1.kind == .moved }
            if let first = moved.first {
                try self.reconnect(to: first.1.endpoint, router: router)
                try self.applyTimeout(timeout)
                let again = try self.exchange(moved.map { commands[$0.0] })
                for (redirect, reply) in zip(moved, again) { replies[redirect.0] = reply }
            }
            for (index, redirect) in redirects where redirect.kind == .ask {
                replies[index] = try self.ask(redirect.endpoint, commands[index], timeout: timeout)
            }
        }
        if replies.contains(where: { ClusterRedirect($0, from: self.configuration.host) != nil }) {
            throw RedisError(.connectionLost, "redirected more than \(Self.maxRedirects) times (Redis Cluster resharding?)")
        }
    }

    /// Replaces this connection's server by `node`, the slot's master now.
    /// On failure the connection is broken and the call fails as unavailable.
    private func reconnect(to node: ConnectionURL.Endpoint, router: ClusterRouter) throws(RedisError) {
        let generation = router.moved(to: node)
        let fresh: RedisConnection
        do {
            fresh = try RedisConnection(configuration: ClusterRouter.direct(self.configuration, node))
        } catch {
            self.failed = true
            throw error
        }
        swap(&self.context, &fresh.context)
        swap(&self.tls, &fresh.tls)
        self.configuration = fresh.configuration
        fresh.close()
        self.currentTimeout = fresh.currentTimeout
        self.topology = (router, generation)
    }

    /// Sends one command to the node an ASK reply named, after ASKING, on a
    /// connection of its own (a migration is rare and brief).
    private func ask(_ node: ConnectionURL.Endpoint, _ command: RedisCommand, timeout: Duration) throws(RedisError) -> RESPValue {
        let other = try RedisConnection(configuration: ClusterRouter.direct(self.configuration, node))
        defer { other.close() }
        try other.applyTimeout(timeout)
        let replies = try other.exchange([RedisCommand("ASKING"), command])
        try replies[0].checked()
        return replies[1]
    }

    /// CLUSTERDOWN (a failover under way: the slot has no master yet) or
    /// TRYAGAIN (a migration): the command did not run; the call fails as
    /// unavailable and its caller retries after a pause, as for any outage.
    private static func checkClusterServes(_ reply: RESPValue) throws(RedisError) {
        guard case .error(let message) = reply, message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("TRYAGAIN") else { return }
        throw RedisError(.unavailable, "Redis Cluster cannot serve now: \(message.prefix(120))")
    }

    /// A reply saying this server is a replica now (a failover demoted it, or
    /// it never was the master) fails the call as a lost connection, which
    /// callers retry, and breaks the connection, so the next one is opened
    /// to the master (asked of Sentinel). A replica refuses every write, so
    /// nothing of the call took effect.
    private func checkStillMaster(_ reply: RESPValue) throws(RedisError) {
        guard case .error(let message) = reply, Self.saysNotMaster(message) else { return }
        self.failed = true
        throw RedisError(.connectionLost, "the server is not the master (failover?): \(message.prefix(120))")
    }

    /// READONLY (a write, also from inside a script), MASTERDOWN (a replica
    /// cut from its master), or a blocked call released because the server
    /// turned replica.
    static func saysNotMaster(_ message: String) -> Bool {
        message.hasPrefix("READONLY") || message.contains("READONLY You can't write") || message.hasPrefix("MASTERDOWN")
            || (message.hasPrefix("UNBLOCKED") && message.contains("state changed"))
    }

    private func load(_ script: RedisScript) throws(RedisError) {
        try self.append(CollectionOfOne(RedisCommand("SCRIPT", "LOAD", script.source)))
        try self.readReply().checked()
    }

    private func applyTimeout(_ timeout: Duration) throws(RedisError) {
        guard timeout != self.currentTimeout else { return }
        if redisSetTimeout(self.context, timeval(timeout)) != REDIS_OK {
            throw self.connectionError()
        }
        self.currentTimeout = timeout
    }

    /// Queues commands in hiredis's output buffer; they are written on the next read.
    private func append(_ commands: some Collection<RedisCommand>) throws(RedisError) {
        if self.failed { throw RedisError(.connectionLost, "connection is broken") }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(commands.reduce(0) { total, command in
            total + 16 + command.arguments.reduce(0) { $0 + $1.count + 16 }
        })
        RESPEncoder.encode(commands, into: &buffer)
        if let tls = self.tls {
            // Written now: the replies are read next, as hiredis writes its buffer before reading.
            let written = buffer.withUnsafeBytes { bytes in Result { () throws(RedisError) in try tls.write(bytes) } }
            if case .failure(let error) = written { throw self.tlsError(error) }
            return
        }
        let status = buffer.withUnsafeBytes { bytes in
            redisAppendFormattedCommand(self.context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw self.connectionError() }
    }

    private func readReply() throws(RedisError) -> RESPValue {
        var raw: UnsafeMutableRawPointer?
        if let tls = self.tls {
            raw = try self.readReply(through: tls)
        } else if redisGetReply(self.context, &raw) != REDIS_OK {
            throw self.connectionError()
        }
        guard let raw else { throw self.connectionError() }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: value.len)) } ?? [])
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_STATUS:
            return .status(text(value))
        case REDIS_REPLY_ERROR:
            return .error(text(value))
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                elements.append(value.element[index].map(convert) ?? .null)
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func text(_ reply: redisReply) -> String {
        guard let str = reply.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: reply.len), as: UTF8.self)
    }

    /// What `redisGetReply` does, with the bytes read through TLS: hiredis's
    /// reader parses what arrived until a whole reply is there.
    private func readReply(through tls: TLSStream) throws(RedisError) -> UnsafeMutableRawPointer {
        let reader = self.context.pointee.reader!
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                self.failed = true
                let message = withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                throw RedisError(.connectionLost, "protocol error: \(message)")
            }
            if let raw { return raw }
            let bytes: UnsafeRawBufferPointer
            do { bytes = try tls.read() } catch { throw self.tlsError(error) }
            redisReaderFeed(reader, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }

    /// A TLS read or write failed: the connection is broken, as after a hiredis error.
    private func tlsError(_ error: RedisError) -> RedisError {
        self.failed = true
        if error.kind == .timeout { return RedisError(.timeout, "no reply within \(self.currentTimeout)") }
        return error
    }

    /// hiredis contexts are unusable after any error: mark broken and type the error.
    private func connectionError() -> RedisError {
        self.failed = true
        let code = self.context.pointee.err
        let message = Self.errorText(self.context)
        if code == REDIS_ERR_IO, errno == EAGAIN || errno == EWOULDBLOCK || message.contains("temporarily unavailable") {
            return RedisError(.timeout, "no reply within \(self.currentTimeout)")
        }
        return RedisError(.connectionLost, message.isEmpty ? "connection closed" : message)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

private func timeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
