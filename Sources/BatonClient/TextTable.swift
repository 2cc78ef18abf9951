/// Rows under a header, each column as wide as its widest cell, for a
/// terminal. Colours (ANSI) only when asked, i.e. when stdout is a terminal;
/// widths ignore them.
public struct TextTable: Sendable {
    public enum Tint: Sendable { case plain, dim, green, red, yellow, blue, bold }

    public struct Cell: Sendable, ExpressibleByStringLiteral {
        public var text: String
        public var tint: Tint

        public init(_ text: String, _ tint: Tint = .plain) {
            self.text = text
            self.tint = tint
        }

        public init(stringLiteral value: String) { self.init(value) }

        /// The text with its colour.
        public var painted: String { TextTable.paint(self.text, self.tint) }
    }

    public var header: [String]
    public var rows: [[Cell]] = []
    /// Columns aligned right (numbers).
    public var rightAligned: Set<Int> = []

    public init(header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    public mutating func append(_ row: [Cell]) { self.rows.append(row) }

    public func render(colour: Bool) -> String {
        let columns = self.header.count
        var widths = self.header.map(\.count)
        for row in self.rows {
            for (index, cell) in row.prefix(columns).enumerated() { widths[index] = max(widths[index], cell.text.count) }
        }
        func line(_ cells: [Cell]) -> String {
            var parts: [String] = []
            for index in 0..<columns {
                let cell = index < cells.count ? cells[index] : Cell("")
                let pad = String(repeating: " ", count: widths[index] - cell.text.count)
                let text = self.rightAligned.contains(index) ? pad + cell.text : cell.text + (index == columns - 1 ? "" : pad)
                parts.append(colour ? Self.paint(text, cell.tint) : text)
            }
            return parts.joined(separator: "  ")
        }
        let head = line(self.header.map { Cell($0, .bold) })
        return ([head] + self.rows.map(line)).joined(separator: "\n")
    }

    static func paint(_ text: String, _ tint: Tint) -> String {
        let code: String
        switch tint {
        case .plain: return text
        case .dim: code = "2"
        case .green: code = "32"
        case .red: code = "31"
        case .yellow: code = "33"
        case .blue: code = "34"
        case .bold: code = "1"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
