/// Writes commands in the RESP wire format, so a whole pipeline goes to
/// hiredis as one buffer (one copy, no per-argument pointer arrays).
enum RESPEncoder {
    static func encode(_ commands: some Collection<RedisCommand>, into buffer: inout [UInt8]) {
        for command in commands {
            buffer.append(UInt8(ascii: "*"))
            appendDecimal(command.arguments.count, to: &buffer)
            buffer.append(contentsOf: crlf)
            for argument in command.arguments {
                buffer.append(UInt8(ascii: "$"))
                appendDecimal(argument.count, to: &buffer)
                buffer.append(contentsOf: crlf)
                buffer.append(contentsOf: argument)
                buffer.append(contentsOf: crlf)
            }
        }
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]

    private static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        buffer.append(contentsOf: String(value).utf8)
    }
}
