/// What an API key may do; each role includes the ones below it.
public enum Role: String, Sendable, Comparable, CaseIterable {
    case viewer, submitter, admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .submitter: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
