/// Who a task belongs to: the tenant of the API key that created it. Keys
/// without a tenant, and nodes that run without keys, use `default`.
public enum Tenant {
    public static let `default` = "default"
    public static let maxLength = 64

    /// Whether `name` may name a tenant: 1–64 of `A–Z a–z 0–9 _ . -`. The
    /// column is ASCII with a binary collation, so names compare byte for byte.
    public static func isValid(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.count <= Self.maxLength
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
