import BatonPool

/// How `redis://` and `sentinel://` URLs read the parts they share.
extension ConnectionURL {
    /// `scheme://secret@host` carries a password without a user, as redis-cli
    /// reads it; `user:secret@` is an ACL user and its password.
    var redisCredentials: (username: String?, password: String?) {
        if self.password == nil, let lone = self.user { return (nil, lone) }
        return (self.user, self.password)
    }

    /// `user:REDACTED@`, `:REDACTED@`, `user@` or nothing: the userinfo of a
    /// URL for logs.
    static func maskedCredentials(_ username: String?, _ password: String?) -> String {
        let mask = "REDACTED"
        if let username { return username + (password == nil ? "@" : ":\(mask)@") }
        return password == nil ? "" : ":\(mask)@"
    }

    /// A database number as the URL spells it; empty means 0.
    static func redisDatabase(_ text: String) throws(RedisError) -> Int {
        if text.isEmpty { return 0 }
        guard let number = Int(text), number >= 0 else {
            throw RedisError(.invalidURL, "database must be a non-negative number")
        }
        return number
    }

    /// Parses `text`, its errors typed as Redis's.
    static func redis(_ text: String) throws(RedisError) -> ConnectionURL {
        do { return try ConnectionURL(text) } catch { throw RedisError(.invalidURL, error.description) }
    }
}
