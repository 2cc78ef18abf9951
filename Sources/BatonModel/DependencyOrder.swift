/// The order in which the items of one CreateTask batch can be settled when
/// items name each other in `depends_on` ("#N"): every item after the items
/// it names. Dependencies on tasks that already exist cannot close a cycle
/// (an existing task never depends on one created later), so a cycle can
/// only run through "#N" references, and this is where it is found.
public enum DependencyOrder {
    /// Item indexes, each after those it names; nil when the references
    /// form a cycle (an item naming itself included).
    public static func order(_ references: [[Int]]) -> [Int]? {
        var remaining = references.map { Set($0).count }
        var dependents = Array(repeating: [Int](), count: references.count)
        for (item, named) in references.enumerated() {
            for parent in Set(named) { dependents[parent].append(item) }
        }
        var ready = remaining.indices.filter { remaining[$0] == 0 }
        var order: [Int] = []
        while let item = ready.popLast() {
            order.append(item)
            for child in dependents[item] {
                remaining[child] -= 1
                if remaining[child] == 0 { ready.append(child) }
            }
        }
        return order.count == references.count ? order : nil
    }
}
