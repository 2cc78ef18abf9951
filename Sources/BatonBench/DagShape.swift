/// The DAG `baton-bench dag` runs: a root that fans out to the first of
/// several layers of `width` tasks, each task of a layer depending on
/// `fanIn` tasks of the layer above (so each also has about `fanIn`
/// children below: fan-out and fan-in at every step), and a sink that fans
/// in the whole last layer. `total` tasks in all: the last layer takes what
/// is left over.
struct DagShape {
    /// Each task's parents (indices of earlier tasks), in creation order:
    /// every task comes after its parents.
    let parents: [[Int]]
    /// The number of tasks in each layer between the root and the sink.
    let layers: [Int]

    init(total: Int, width: Int, fanIn: Int) {
        precondition(total >= 3 && width >= 1 && fanIn >= 1)
        let middle = total - 2
        self.layers = stride(from: 0, to: middle, by: width).map { min(width, middle - $0) }
        var parents: [[Int]] = [[]]
        var above = [0]  // the root
        for size in self.layers {
            let first = parents.count
            // Parent j of task i: (i + j·stride) mod the layer above, so for
            // each j the tasks of a layer take distinct parents.
            let stride = max(1, above.count / fanIn)
            for i in 0..<size {
                var mine: [Int] = []
                for j in 0..<min(fanIn, above.count) {
                    let parent = above[(i + j * stride) % above.count]
                    if !mine.contains(parent) { mine.append(parent) }
                }
                parents.append(mine)
            }
            above = Array(first..<parents.count)
        }
        parents.append(above)  // the sink
        self.parents = parents
    }

    var count: Int { self.parents.count }
    /// Tasks on the longest path: root, the layers, the sink.
    var depth: Int { self.layers.count + 2 }
    var edges: Int { self.parents.reduce(0) { $0 + $1.count } }

    var description: String {
        let full = self.layers.filter { $0 == self.layers.first }.count
        let rest = self.layers.count > full ? " and one of \(self.layers.last!)" : ""
        let fanIn = self.parents.count > 2 ? self.parents[self.parents.count / 2].count : 0
        return "root → \(full) layers of \(self.layers.first ?? 0)\(rest), each task depending on \(fanIn) of the layer above → sink "
            + "(\(self.count) tasks, \(self.edges) edges, depth \(self.depth))"
    }
}
