@testable import BatonHTTP
import Testing

/// The deadlines of an HTTP connection's request cycle.
struct HTTPRequestPhaseTests {
    let limits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.headerTimeout = .seconds(1)
        limits.bodyTimeout = .seconds(2)
        limits.idleTimeout = .seconds(3)
        return limits
    }()

    @Test func aNewConnectionHasTheHeaderTimeout() {
        #expect(HTTPRequestPhase.responding.next(.connected) == .head)
        #expect(HTTPRequestPhase.head.timeout(self.limits) == .seconds(1))
    }

    @Test func trickledHeaderBytesDoNotPushTheDeadlineBack() {
        #expect(HTTPRequestPhase.head.next(.bytesArrived) == .head)
    }

    @Test func aFullCycleThenIdleThenTheNextRequest() {
        var phase = HTTPRequestPhase.head
        phase = phase.next(.headParsed)
        #expect(phase == .body && phase.timeout(self.limits) == .seconds(2))
        phase = phase.next(.requestEnded)
        #expect(phase == .responding && phase.timeout(self.limits) == nil)
        phase = phase.next(.bytesArrived)
        #expect(phase == .responding, "the server's own time is not the client's")
        phase = phase.next(.responseEnded)
        #expect(phase == .idle && phase.timeout(self.limits) == .seconds(3))
        #expect(phase.next(.bytesArrived) == .head)
        #expect(phase.next(.headParsed) == .body, "a pipelined request released at once")
    }
}
