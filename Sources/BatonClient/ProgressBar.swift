/// "[#########-----------]  450/1000  45%": for long bulk calls and batch creates.
public struct ProgressBar: Sendable {
    public var total: Int
    public var width: Int

    public init(total: Int, width: Int = 30) {
        self.total = max(0, total)
        self.width = width
    }

    public func render(_ done: Int) -> String {
        let done = min(max(0, done), self.total)
        let fraction = self.total == 0 ? 1 : Double(done) / Double(self.total)
        let filled = Int((fraction * Double(self.width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: self.width - filled)
        return "[\(bar)]  \(done)/\(self.total)  \(Int((fraction * 100).rounded(.down)))%"
    }
}
