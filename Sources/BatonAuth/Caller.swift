import BatonModel

/// Who is calling, as authentication established it: the key's id (for
/// audit lines), its role and its tenant.
public struct Caller: Sendable {
    public var keyID: String?
    public var role: Role
    public var tenant: String

    public init(keyID: String?, role: Role, tenant: String) {
        self.keyID = keyID
        self.role = role
        self.tenant = tenant
    }

    /// A node that runs without keys: one tenant, and anyone may do anything.
    public static let open = Caller(keyID: nil, role: .admin, tenant: Tenant.default)

    /// Code that runs outside `AuthInterceptor` (which sets every RPC's
    /// caller, `open` on a node without keys) sees no tenant's tasks and
    /// changes nothing: a missing caller fails closed, never open.
    public static let nobody = Caller(keyID: nil, role: .viewer, tenant: "")

    /// The caller of the current RPC.
    @TaskLocal public static var current = Caller.nobody

    /// The tenant whose tasks this caller may see and change; nil for an
    /// admin, who sees every tenant's.
    public var scope: String? { self.role == .admin ? nil : self.tenant }

    /// The id of the current caller's key; nil when the node runs open.
    package static var keyID: String? { Self.current.keyID }

    package static var description: String { Self.keyID.map { "key \($0)" } ?? "an unauthenticated caller" }
}
