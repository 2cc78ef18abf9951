/// Where an HTTP/1.1 connection is in its request cycle, and which deadline
/// applies there. Pure, so the rules are tested without sockets.
enum HTTPRequestPhase: Equatable {
    /// Kept alive between requests, nothing of the next one yet.
    case idle
    /// Some of a request's head is in (or, on a new connection, expected).
    case head
    /// The head is in; its body is arriving.
    case body
    /// The request is in; the server answers (no client deadline).
    case responding

    enum Event {
        case connected, bytesArrived, headParsed, requestEnded, responseEnded
    }

    /// The phase after `event` (unchanged when the event does not apply).
    func next(_ event: Event) -> HTTPRequestPhase {
        switch (self, event) {
        case (_, .connected): .head
        case (.idle, .bytesArrived): .head
        case (.idle, .headParsed), (.head, .headParsed): .body
        case (.body, .requestEnded), (.head, .requestEnded): .responding
        case (.responding, .responseEnded): .idle
        default: self
        }
    }

    /// The time the client has in this phase, nil for none.
    func timeout(_ limits: HTTPLimits) -> Duration? {
        switch self {
        case .idle: limits.idleTimeout
        case .head: limits.headerTimeout
        case .body: limits.bodyTimeout
        case .responding: nil
        }
    }
}
