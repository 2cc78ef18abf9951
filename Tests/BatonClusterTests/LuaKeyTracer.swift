/// Finds the key arguments of every `redis.call` / `redis.pcall` of a Lua
/// script and traces each back to where its value comes from, by name. A
/// key is declared when it is `KEYS[…]`, or a name (a local, a function's
/// parameter, a table's field or element, a loop variable) every binding of
/// which is declared in turn. A concatenation (`..`), an ARGV value, a
/// literal or a value a command returned is not: such a key was built or
/// found at run time, which a Redis Cluster script must never do.
///
/// Names are matched without scopes (every `queue` of a script counts for
/// each use of `queue`; a field by its name, whatever table holds it), which
/// errs on the side of failing: a script that trips it renames a variable.
struct LuaKeyTracer {
    /// Which arguments of a command are keys.
    enum KeyArguments {
        case none, first, firstTwo, all
    }

    /// Every command Baton's scripts run, with its key arguments; a command
    /// missing here is reported, so a new one gets its entry.
    static let commands: [String: KeyArguments] = {
        var table: [String: KeyArguments] = ["TIME": .none, "LMOVE": .firstTwo, "RPOPLPUSH": .firstTwo, "SMOVE": .firstTwo, "DEL": .all, "EXISTS": .all, "UNLINK": .all]
        for name in [
            "GET", "SET", "INCR", "INCRBY", "PEXPIRE", "EXPIRE", "PTTL", "HGET", "HSET", "HMGET", "HINCRBY", "HGETALL", "HDEL", "HEXISTS", "HKEYS",
            "LLEN", "LRANGE", "LREM", "LPUSH", "RPUSH", "LPOP", "RPOP", "LTRIM", "LINDEX", "ZADD", "ZREM", "ZCARD", "ZRANGE", "ZRANGEBYSCORE",
            "ZSCORE", "ZREMRANGEBYSCORE", "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SCARD", "XADD",
        ] {
            table[name] = .first
        }
        return table
    }()

    private let source: [Character]
    /// By normalised name (`queue`, `.high` for any table's field `high`,
    /// `parkedKeys[]` for an element): every expression bound to it.
    private var bindings: [String: [String]] = [:]

    init(_ source: String) {
        self.source = Array(Self.withoutComments(source))
        self.collectAssignments()
        self.collectParameters()
        self.collectLoops()
        self.collectInserts()
    }

    /// Each key argument that is not declared, with why.
    func violations() -> [String] {
        var found: [String] = []
        for call in self.calls() {
            guard let first = call.first, let name = Self.literal(first)?.uppercased() else {
                found.append("redis.call(\(call.joined(separator: ","))): the command is not a literal")
                continue
            }
            guard let kind = Self.commands[name] else {
                found.append("\(name): unknown command (add its key arguments to LuaKeyTracer.commands)")
                continue
            }
            let arguments = Array(call.dropFirst())
            let keys: ArraySlice<String> =
                switch kind {
                case .none: []
                case .first: arguments.prefix(1)
                case .firstTwo: arguments.prefix(2)
                case .all: arguments[...]
                }
            for key in keys {
                var visiting: Set<String> = []
                if let reason = self.undeclared(key, visiting: &visiting) { found.append("\(name) \(Self.trimmed(key)): \(reason)") }
            }
        }
        return found
    }

    // MARK: tracing

    /// Why `expression` is not a declared key, or nil when it is.
    private func undeclared(_ expression: String, visiting: inout Set<String>) -> String? {
        let text = Self.unparenthesised(Self.trimmed(expression))
        if text.hasPrefix("KEYS["), Self.closing(of: Array(text), at: 4) == text.count - 1 { return nil }
        if text.hasPrefix("element of ") {
            let table = String(text.dropFirst("element of ".count))
            if !Self.isName(table) { return "an element of what a call returned (\(table))" }
            return self.undeclared(table + "[_]", visiting: &visiting)
        }
        if text.hasPrefix("a key of ") { return "a table's key (\(text))" }
        if text.contains("..") { return "built by concatenation (\(text))" }
        if text.contains("ARGV") { return "taken from ARGV (\(text))" }
        if text.contains("'") || text.contains("\"") { return "a literal (\(text))" }
        guard Self.isName(text) else { return "not a KEYS entry nor a name (\(text))" }
        let name = Self.normalised(text)
        guard visiting.insert(name).inserted else { return nil }  // a cycle: the other bindings decide
        guard let bound = self.bindings[name], !bound.isEmpty else { return "\(text) is bound to nothing traced" }
        for value in bound {
            if let reason = self.undeclared(value, visiting: &visiting) { return "\(text) = \(Self.trimmed(value)): \(reason)" }
        }
        return nil
    }

    /// `a`, `a.b.c` (by its last field, `.c`), `a[i]` (an element, `a[]`).
    private static func normalised(_ name: String) -> String {
        var plain = ""
        var depth = 0
        for character in name {
            if character == "[" {
                if depth == 0 { plain.append("[") }
                depth += 1
            } else if character == "]" {
                depth -= 1
                if depth == 0 { plain.append("]") }
            } else if depth == 0 {
                plain.append(character)
            }
        }
        if let dot = plain.lastIndex(of: ".") { return String(plain[dot...]) }
        return plain
    }

    /// A name, a field or an element (`w.queue`, `parked[t]`), nothing else.
    private static func isName(_ text: String) -> Bool {
        let characters = Array(text)
        guard let first = characters.first, first.isLetter || first == "_" else { return false }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "[" {
                guard let end = Self.closing(of: characters, at: index) else { return false }
                index = end + 1
            } else if character.isLetter || character.isNumber || character == "_" || character == "." {
                index += 1
            } else {
                return false
            }
        }
        return true
    }

    // MARK: bindings

    /// `a, b = x, y` and `local a = x` (also a numeric `for i = 1, n`,
    /// harmless): each target to its value.
    private mutating func collectAssignments() {
        var assignments: [Int] = []
        Self.walk(self.source) { index, character, depth in
            if character == "=", depth == 0, index + 1 < self.source.count, self.source[index + 1] != "=",
                index > 0, !"=~<>".contains(self.source[index - 1])
            {
                assignments.append(index)
            }
            return true
        }
        for index in assignments {
            let values = Self.split(self.expression(after: index + 1))
            for (position, target) in self.targets(before: index).enumerated() {
                self.bindings[Self.normalised(target), default: []].append(position < values.count ? values[position] : "nil")
            }
        }
    }

    /// `function name(a, b)`: each parameter to the arguments of every call `name(…)`.
    private mutating func collectParameters() {
        let text = String(self.source)
        for match in text.matches(of: /function\s+([A-Za-z_]\w*)\s*\(([^)]*)\)/) {
            let function = String(match.output.1)
            let parameters = match.output.2.split(separator: ",").map { Self.trimmed(String($0)) }
            for call in text.ranges(of: function) {
                let before = text[..<call.lowerBound]
                if let previous = before.last, previous.isLetter || previous.isNumber || previous == "_" || previous == "." { continue }
                if before.hasSuffix("function ") { continue }
                let rest = text[call.upperBound...]
                guard let paren = rest.firstIndex(where: { !$0.isWhitespace }), rest[paren] == "(" else { continue }
                let open = text.distance(from: text.startIndex, to: paren)
                guard let close = Self.closing(of: self.source, at: open) else { continue }
                let arguments = Self.split(String(self.source[(open + 1)..<close]))
                for (position, parameter) in parameters.enumerated() where parameter != "..." {
                    self.bindings[parameter, default: []].append(position < arguments.count ? arguments[position] : "nil")
                }
            }
        }
    }

    /// `for k, v in pairs(t)` / `ipairs(t)`: `v` to each element of `t`
    /// (each of a table written out, `{KEYS[1], KEYS[2]}`), `k` to its keys.
    private mutating func collectLoops() {
        let text = String(self.source)
        for match in text.matches(of: /for\s+([\w\s,]+?)\s+in\s+i?pairs\(/) {
            let variables = match.output.1.split(separator: ",").map { Self.trimmed(String($0)) }
            let open = text.distance(from: text.startIndex, to: match.range.upperBound) - 1
            guard let close = Self.closing(of: self.source, at: open) else { continue }
            let table = Self.trimmed(String(self.source[(open + 1)..<close]))
            if let value = variables.dropFirst().first {
                if table.hasPrefix("{") {
                    self.bindings[value, default: []] += Self.split(String(table.dropFirst().dropLast()))
                } else {
                    self.bindings[value, default: []].append("element of \(table)")
                }
            }
            if let key = variables.first { self.bindings[key, default: []].append("a key of \(table)") }
        }
    }

    /// `table.insert(t, v)` (or `t, position, v`): `v` to the elements of `t`.
    private mutating func collectInserts() {
        let text = String(self.source)
        for match in text.matches(of: /table\.insert\s*\(/) {
            let open = text.distance(from: text.startIndex, to: match.range.upperBound) - 1
            guard let close = Self.closing(of: self.source, at: open) else { continue }
            let arguments = Self.split(String(self.source[(open + 1)..<close]))
            guard arguments.count >= 2, let value = arguments.last else { continue }
            self.bindings[Self.normalised(arguments[0] + "[_]"), default: []].append(value)
        }
    }

    /// The targets of the assignment whose `=` is at `index`: the names
    /// (fields, elements) separated by commas just before it.
    private func targets(before index: Int) -> [String] {
        var start = index
        var position = index - 1
        var lastWasName = false
        var sawSpaceAfterName = false
        while position >= 0 {
            let character = self.source[position]
            if character == "]" {
                guard let open = Self.opening(of: self.source, at: position) else { break }
                if sawSpaceAfterName { break }
                position = open - 1
                start = open
                lastWasName = true
                continue
            }
            if character.isLetter || character.isNumber || character == "_" || character == "." {
                if sawSpaceAfterName { break }  // `then a = …`: the word before the targets
                start = position
                lastWasName = true
            } else if character == "," {
                lastWasName = false
                sawSpaceAfterName = false
            } else if character == " " || character == "\t" {
                if lastWasName { sawSpaceAfterName = true }
            } else {
                break
            }
            position -= 1
        }
        return Self.split(String(self.source[start..<index]))
    }

    /// The expression after an `=` at `index`, to the end of its statement.
    private func expression(after index: Int) -> String {
        var end = self.source.count
        Self.walk(self.source, from: index) { position, character, depth in
            let ends = depth < 0 || (depth == 0 && (character == "\n" || character == ";" || self.keyword(at: position)))
            if ends { end = position }
            return !ends
        }
        return String(self.source[index..<end])
    }

    /// Whether a statement keyword starts at `index` (a whole word).
    private func keyword(at index: Int) -> Bool {
        guard index == 0 || !(self.source[index - 1].isLetter || self.source[index - 1].isNumber || self.source[index - 1] == "_") else { return false }
        for word in ["end", "then", "do", "else", "elseif", "local", "return"] {
            let characters = Array(word)
            let end = index + characters.count
            guard end <= self.source.count, Array(self.source[index..<end]) == characters else { continue }
            if end == self.source.count || !(self.source[end].isLetter || self.source[end].isNumber || self.source[end] == "_") { return true }
        }
        return false
    }

    // MARK: calls

    /// The argument lists of every `redis.call(…)` / `redis.pcall(…)`.
    private func calls() -> [[String]] {
        let text = String(self.source)
        return text.matches(of: /redis\.p?call\s*\(/).compactMap { match in
            let open = text.distance(from: text.startIndex, to: match.range.upperBound) - 1
            guard let close = Self.closing(of: self.source, at: open) else { return nil }
            return Self.split(String(self.source[(open + 1)..<close]))
        }
    }

    // MARK: text

    /// Calls `visit` with each character from `start` outside strings and
    /// the depth of brackets once it is read (an opening one counted in, a
    /// closing one out), until `visit` returns false.
    private static func walk(_ characters: [Character], from start: Int = 0, _ visit: (Int, Character, Int) -> Bool) {
        var depth = 0
        var position = start
        while position < characters.count {
            let character = characters[position]
            if character == "'" || character == "\"" {
                position += 1
                while position < characters.count, characters[position] != character {
                    position += characters[position] == "\\" ? 2 : 1
                }
                position += 1
                continue
            }
            if "([{".contains(character) { depth += 1 }
            if ")]}".contains(character) { depth -= 1 }
            if !visit(position, character, depth) { return }
            position += 1
        }
    }

    /// The index of the bracket closing the one at `index`, skipping strings.
    static func closing(of characters: [Character], at index: Int) -> Int? {
        var found: Int?
        Self.walk(characters, from: index) { position, character, depth in
            if depth == 0, ")]}".contains(character) { found = position }
            return found == nil
        }
        return found
    }

    /// The index of the `[` opening the `]` at `index`.
    private static func opening(of characters: [Character], at index: Int) -> Int? {
        var depth = 0
        var position = index
        while position >= 0 {
            if characters[position] == "]" { depth += 1 }
            if characters[position] == "[" {
                depth -= 1
                if depth == 0 { return position }
            }
            position -= 1
        }
        return nil
    }

    /// Splits at the commas outside brackets and strings.
    static func split(_ text: String) -> [String] {
        let characters = Array(text)
        var commas: [Int] = []
        Self.walk(characters) { position, character, depth in
            if character == ",", depth == 0 { commas.append(position) }
            return true
        }
        var parts: [String] = []
        var start = 0
        for end in commas + [characters.count] {
            parts.append(Self.trimmed(String(characters[start..<end])))
            start = end + 1
        }
        return parts.last == "" ? Array(parts.dropLast()) : parts
    }

    static func trimmed(_ text: String) -> String {
        String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    private static func unparenthesised(_ text: String) -> String {
        var text = text
        while text.hasPrefix("("), Self.closing(of: Array(text), at: 0) == text.count - 1 { text = Self.trimmed(String(text.dropFirst().dropLast())) }
        return text
    }

    /// `'GET'` → `GET`.
    private static func literal(_ text: String) -> String? {
        let text = Self.trimmed(text)
        guard text.count >= 2, let first = text.first, first == "'" || first == "\"", text.last == first else { return nil }
        return String(text.dropFirst().dropLast())
    }

    /// The script without its `--` comments (strings kept).
    private static func withoutComments(_ source: String) -> String {
        var result = ""
        var quote: Character?
        var inComment = false
        var previous: Character?
        for character in source {
            if inComment {
                if character == "\n" {
                    inComment = false
                    result.append(character)
                }
                continue
            }
            if let open = quote {
                if character == open, previous != "\\" { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-", previous == "-" {
                result.removeLast()
                inComment = true
                previous = nil
                continue
            }
            result.append(character)
            previous = character
        }
        return result
    }
}
