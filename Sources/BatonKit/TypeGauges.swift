import BatonBroker
import Foundation

/// The per-type gauges (README, Operations): backlog, longest wait, paused
/// and unserved, for every configured type and every type seen waiting.
struct TypeGauges {
    private var backlog = LabeledGauges(label: "baton_task_type_backlog", dimension: "type")
    private var oldest = LabeledGauges(label: "baton_task_type_oldest_waiting_seconds", dimension: "type")
    private var paused = LabeledGauges(label: "baton_task_type_paused", dimension: "type")
    private var unserved = LabeledGauges(label: "baton_task_type_unserved", dimension: "type")

    /// `since`: when each head entry's task began to wait (`TaskStore.waitingSince`).
    mutating func record(_ sample: BacklogSample, since: [String: Date], unserved: Set<String>, now: Date) {
        let types = Set(sample.types.keys).union(unserved)
        self.backlog.record(Dictionary(uniqueKeysWithValues: types.map { ($0, Double(sample.types[$0]?.waiting ?? 0)) }))
        self.oldest.record(Dictionary(uniqueKeysWithValues: types.map { type in
            let first = (sample.types[type]?.heads ?? []).compactMap { since[$0] }.min()
            return (type, first.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        }))
        self.paused.record(Dictionary(uniqueKeysWithValues: types.map { ($0, sample.paused.contains($0) ? 1 : 0) }))
        self.unserved.record(Dictionary(uniqueKeysWithValues: types.map { ($0, unserved.contains($0) ? 1 : 0) }))
    }
}
