/// A CIDR block (`10.0.0.0/8`, `fe80::/10`); a single address is a /32 or /128.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.bitWidth).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// `10.0.0.0/8`, `fd00::/8`, or an address alone.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var prefix = address.bitWidth
        if parts.count == 2 {
            guard let length = Int(parts[1]) else { return nil }
            // `::ffff:10.0.0.0/104` is stored as IPv4: its prefix counts the last 32 bits only.
            let mapped = address.bitWidth == 32 && parts[0].contains(":")
            prefix = mapped ? length - 96 : length
        }
        self.init(address: address, prefixLength: prefix)
    }

    public func contains(_ other: IPAddress) -> Bool {
        switch (self.address, other) {
        case (.v4(let network), .v4(let candidate)):
            let shift = 32 - self.prefixLength
            return shift == 32 || network >> shift == candidate >> shift
        case (.v6(let network), .v6(let candidate)):
            let shift = 128 - self.prefixLength
            return shift == 128 || network >> shift == candidate >> shift
        default:
            return false
        }
    }

    /// True when every address of `other` is in this network.
    public func contains(_ other: IPNetwork) -> Bool {
        other.prefixLength >= self.prefixLength && self.contains(other.address)
    }

    public var description: String { "\(self.address)/\(self.prefixLength)" }
}
