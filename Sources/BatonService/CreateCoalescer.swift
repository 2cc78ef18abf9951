import BatonModel
import BatonStore
import Synchronization

/// Group commit for creates: calls that arrive while `maxInFlight` commits
/// are running wait and then go together, one transaction and one Redis
/// round trip for all of them. Idle, a call goes at once (no timer, no added
/// latency); busy, the MySQL pool no longer holds a queue of single-row
/// transactions, so a call waits for at most one commit ahead of it (a
/// high-priority task created behind a burst starts within milliseconds,
/// not after the burst). A call of `maxDrafts / 2` drafts or more (a batch)
/// is a group already: it goes at once, beside the others.
///
/// High-priority work goes first: a call with a high-priority draft may
/// open one turn beyond `maxInFlight`, and the next turn gathers such calls
/// before any other (up to half of it, so a flood of them never starves
/// normal calls), so a high task created in a burst of normal ones waits
/// for no commit of theirs.
///
/// The work runs in the callers' own tasks: the first waiter of each turn
/// leads it, commits everyone's drafts, hands each caller its slice.
final class CreateCoalescer: Sendable {
    typealias Created = (task: TaskRecord, deduplicated: Bool)
    typealias Commit = @Sendable ([TaskRecord]) async throws -> [Created]

    /// Most drafts, and payload bytes, one turn gathers: a large call (a
    /// batch of 500, a big payload) goes on its own turn.
    let maxDrafts: Int
    let maxBytes: Int
    /// Commits running at once; beyond, calls gather for the next.
    let maxInFlight: Int

    private enum Turn {
        case lead([Waiter])
        case done(Result<[Created], any Error>)
    }

    private struct Waiter {
        let drafts: [TaskRecord]
        let bytes: Int
        let urgent: Bool
        let continuation: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var inFlight = 0
        var waiting: [Waiter] = []
    }

    private let state = Mutex(State())

    init(maxDrafts: Int = 128, maxBytes: Int = 1 << 20, maxInFlight: Int = 2) {
        self.maxDrafts = maxDrafts
        self.maxBytes = maxBytes
        self.maxInFlight = maxInFlight
    }

    /// Calls waiting for a turn (tests wait on it instead of sleeping).
    var waitingCount: Int { self.state.withLock { $0.waiting.count } }

    /// Commits `drafts` (possibly with other callers'), returns their outcome in order.
    func submit(_ drafts: [TaskRecord], commit: Commit) async throws -> [Created] {
        if drafts.count >= self.maxDrafts / 2 { return try await commit(drafts) }
        let bytes = drafts.reduce(0) { sum, draft in draft.payload.reduce(sum + (draft.args?.utf8.count ?? 0)) { $0 + $1.key.utf8.count + $1.value.utf8.count } }
        let urgent = drafts.contains { $0.priority == .high }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let waiter = Waiter(drafts: drafts, bytes: bytes, urgent: urgent, continuation: continuation)
            let leadNow = self.state.withLock { state in
                if state.inFlight >= self.maxInFlight + (urgent ? 1 : 0) {
                    state.waiting.append(waiter)
                    return false
                }
                state.inFlight += 1
                return true
            }
            if leadNow { continuation.resume(returning: .lead([waiter])) }
        }
        switch turn {
        case .done(let result):
            return try result.get()
        case .lead(let group):
            let result = await self.run(group, commit: commit)
            self.handOver()
            return try result.get()
        }
    }

    /// Commits the group's drafts together; the first waiter (the caller) gets its result back.
    private func run(_ group: [Waiter], commit: Commit) async -> Result<[Created], any Error> {
        var results: [Result<[Created], any Error>]
        do {
            let created = try await commit(group.flatMap(\.drafts))
            var start = 0
            results = group.map { waiter in
                defer { start += waiter.drafts.count }
                return .success(Array(created[start..<start + waiter.drafts.count]))
            }
        } catch where group.count > 1 && Self.isOneCallersFault(error) {
            // Something in one caller's drafts: each caller alone, so no one fails for another.
            results = []
            for waiter in group {
                do { results.append(.success(try await commit(waiter.drafts))) } catch { results.append(.failure(error)) }
            }
        } catch {
            results = Array(repeating: .failure(error), count: group.count)
        }
        for (waiter, result) in zip(group.dropFirst(), results.dropFirst()) { waiter.continuation.resume(returning: .done(result)) }
        return results[0]
    }

    /// An error that may come from one caller's drafts only (a duplicate
    /// key, a type deleted meanwhile), not from MySQL being away.
    private static func isOneCallersFault(_ error: any Error) -> Bool {
        switch error {
        case let error as StoreError: !error.isUnavailable
        case is TaskTypeUnavailable: true
        default: false
        }
    }

    /// The next turn, if anyone waits (urgent calls first, up to half a
    /// turn, then in arrival order): its first waiter leads it. The urgent
    /// calls' spare turn closes once none of them waits.
    private func handOver() {
        let next: [Waiter]? = self.state.withLock { state in
            let urgent = state.waiting.contains(where: \.urgent)
            guard !state.waiting.isEmpty, urgent || state.inFlight <= self.maxInFlight else {
                state.inFlight -= 1
                return nil
            }
            var order: [Int] = []
            var urgentDrafts = 0
            for index in state.waiting.indices where state.waiting[index].urgent && urgentDrafts < self.maxDrafts / 2 {
                order.append(index)
                urgentDrafts += state.waiting[index].drafts.count
            }
            let first = Set(order)
            order += state.waiting.indices.filter { !first.contains($0) }
            var drafts = 0
            var bytes = 0
            var chosen: [Int] = []
            for index in order {
                let waiter = state.waiting[index]
                if !chosen.isEmpty && (drafts + waiter.drafts.count > self.maxDrafts || bytes + waiter.bytes > self.maxBytes) { break }
                drafts += waiter.drafts.count
                bytes += waiter.bytes
                chosen.append(index)
            }
            let group = chosen.map { state.waiting[$0] }
            let taken = Set(chosen)
            state.waiting = state.waiting.indices.filter { !taken.contains($0) }.map { state.waiting[$0] }
            return group
        }
        if let next { next[0].continuation.resume(returning: .lead(next)) }
    }
}
