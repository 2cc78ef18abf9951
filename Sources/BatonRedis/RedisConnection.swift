import BatonPool
import CHiredis
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection. Every method blocks its thread: only the pool's
/// threads (or a reserved connection's own thread) call it, one at a time.
final class RedisConnection: PoolableConnection, @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    private let commandTimeout: Duration
    private var currentTimeout: Duration
    private var failed = false
    /// In Sentinel mode: the resolver and the master generation this
    /// connection was opened under.
    private var master: (resolver: SentinelResolver, generation: Int)?

    /// After an I/O error, a reply saying the server is no longer the master,
    /// or (Sentinel) once the master has changed since this connection opened.
    var isBroken: Bool {
        if self.failed { return true }
        guard let master = self.master else { return false }
        return master.resolver.generation != master.generation
    }

    /// A connection to `configuration`'s server, or to the master its
    /// Sentinels name. Blocks its thread.
    static func open(configuration: RedisConfiguration, logger: Logger) throws(RedisError) -> RedisConnection {
        if let sentinel = configuration.sentinel { return try sentinel.connectToMaster(configuration: configuration, logger: logger) }
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
        self.context = context
        self.commandTimeout = configuration.commandTimeout
        self.currentTimeout = configuration.commandTimeout
        redisSetTimeout(context, timeval(configuration.commandTimeout))

        do {
            if let password = configuration.password {
                let auth = configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
                try self.send(auth).checked()
            }
            if configuration.database != 0 {
                try self.send(RedisCommand("SELECT", configuration.database)).checked()
            }
        } catch {
            redisFree(context)
            // Never echo the password: the server's message does not contain it.
            throw RedisError(.connectionFailed, error.message)
        }
    }

    func close() {
        redisFree(self.context)
    }

    /// Ties this connection to the master `resolver` found, so that it counts
    /// as broken once the resolver has found another.
    func follow(_ resolver: SentinelResolver, generation: Int) {
        self.master = (resolver, generation)
    }

    /// Sends one command and reads its reply. Error replies are returned, not thrown.
    func send(_ command: RedisCommand, timeout: Duration? = nil) throws(RedisError) -> RESPValue {
        try self.applyTimeout(timeout ?? self.commandTimeout)
        try self.append(command)
        var reply = try self.readReply()
        if let script = command.script, case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            try self.load(script)
            try self.append(command)
            reply = try self.readReply()
        }
        try self.checkStillMaster(reply)
        return reply
    }

    /// Writes all commands, then reads all replies: one round trip.
    func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RESPValue] {
        try self.applyTimeout(self.commandTimeout)
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
        for reply in replies { try self.checkStillMaster(reply) }
        return replies
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
        try self.append(RedisCommand("SCRIPT", "LOAD", script.source))
        try self.readReply().checked()
    }

    private func applyTimeout(_ timeout: Duration) throws(RedisError) {
        guard timeout != self.currentTimeout else { return }
        if redisSetTimeout(self.context, timeval(timeout)) != REDIS_OK {
            throw self.connectionError()
        }
        self.currentTimeout = timeout
    }

    private func append(_ command: RedisCommand) throws(RedisError) {
        try self.append(CollectionOfOne(command))
    }

    /// Queues commands in hiredis's output buffer; they are written on the next read.
    private func append(_ commands: some Collection<RedisCommand>) throws(RedisError) {
        if self.failed { throw RedisError(.connectionLost, "connection is broken") }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(commands.reduce(0) { total, command in
            total + 16 + command.arguments.reduce(0) { $0 + $1.count + 16 }
        })
        RESPEncoder.encode(commands, into: &buffer)
        let status = buffer.withUnsafeBytes { bytes in
            redisAppendFormattedCommand(self.context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw self.connectionError() }
    }

    private func readReply() throws(RedisError) -> RESPValue {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(self.context, &raw) == REDIS_OK, let raw else {
            throw self.connectionError()
        }
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
