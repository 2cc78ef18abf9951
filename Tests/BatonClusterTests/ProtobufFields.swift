/// The fields of one protobuf message in wire format: numbers and raw
/// values, enough to walk a message whose schema the test knows.
struct ProtobufFields {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed
    }

    let all: [(number: Int, value: Value)]

    init(_ bytes: [UInt8]) {
        var fields: [(number: Int, value: Value)] = []
        var index = 0
        func varint() -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            return result
        }
        while index < bytes.count {
            let tag = varint()
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: fields.append((number, .varint(varint())))
            case 1: index += 8; fields.append((number, .fixed))
            case 2:
                let length = Int(varint())
                let end = min(index + length, bytes.count)
                fields.append((number, .bytes(Array(bytes[index..<end]))))
                index = end
            case 5: index += 4; fields.append((number, .fixed))
            default: index = bytes.count  // groups: not in OTLP
            }
        }
        self.all = fields
    }

    /// The length-delimited values of field `number` (messages, strings, bytes).
    func messages(_ number: Int) -> [[UInt8]] {
        self.all.compactMap { field in
            guard field.number == number, case .bytes(let bytes) = field.value else { return nil }
            return bytes
        }
    }
}
