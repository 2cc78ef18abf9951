/// Who may call an operation.
public enum Access: Sendable, Equatable {
    /// No key needed: health checks and reflection.
    case open
    /// A key of this role or higher.
    case role(Role)
}
