import CMariaDB
import Foundation

/// A prepared statement on one connection: binds parameters, executes, and
/// decodes rows. Blocking; used only by its connection's current thread.
final class MySQLStatement {
    private let statement: UnsafeMutablePointer<MYSQL_STMT>
    private let parameterCount: Int
    private let fields: [Field]
    private let columns: MySQLColumns
    private lazy var results = ResultBuffers(fields: self.fields.map { ($0.type, $0.isUnsigned) })

    private struct Field {
        var name: String
        var type: enum_field_types
        var isUnsigned: Bool
        var isBinary: Bool
    }

    init(connection: UnsafeMutablePointer<MYSQL>, sql: String) throws(MySQLError) {
        guard let statement = mysql_stmt_init(connection) else {
            throw Self.connectionError(connection)
        }
        let utf8 = Array(sql.utf8)
        if mysql_stmt_prepare(statement, utf8, UInt(utf8.count)) != 0 {
            let error = Self.error(statement)
            mysql_stmt_close(statement)
            throw error
        }
        self.statement = statement
        self.parameterCount = Int(mysql_stmt_param_count(statement))

        var fields: [Field] = []
        if let metadata = mysql_stmt_result_metadata(statement) {
            defer { mysql_free_result(metadata) }
            let count = Int(mysql_num_fields(metadata))
            if let raw = mysql_fetch_fields(metadata) {
                for index in 0..<count {
                    let field = raw[index]
                    fields.append(
                        Field(
                            name: String(cString: field.name),
                            type: field.type,
                            isUnsigned: field.flags & UInt32(UNSIGNED_FLAG) != 0,
                            isBinary: field.charsetnr == 63 && Self.isByteType(field.type)
                        )
                    )
                }
            }
        }
        self.fields = fields
        self.columns = MySQLColumns(names: fields.map(\.name))
    }

    /// Binary collation marks raw bytes only on string-like columns; DECIMAL
    /// and other textual numbers carry it too but read as text.
    private static func isByteType(_ type: enum_field_types) -> Bool {
        switch type {
        case MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB,
            MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BIT, MYSQL_TYPE_GEOMETRY:
            true
        default:
            false
        }
    }

    deinit {
        mysql_stmt_close(self.statement)
        if !self.fields.isEmpty { self.results.deallocate() }
    }

    func execute(_ binds: [MySQLValue]) throws(MySQLError) -> MySQLResult {
        guard binds.count == self.parameterCount else {
            throw MySQLError(.misuse, "statement takes \(self.parameterCount) parameters, \(binds.count) given")
        }
        let parameters = ParameterBuffers(binds)
        defer { parameters.deallocate() }
        if self.parameterCount > 0, mysql_stmt_bind_param(self.statement, parameters.binds) != 0 {
            throw Self.error(self.statement)
        }
        if mysql_stmt_execute(self.statement) != 0 {
            throw Self.error(self.statement)
        }
        let rows = self.fields.isEmpty ? [] : try self.fetchRows()
        return MySQLResult(
            rows: rows,
            affectedRows: mysql_stmt_affected_rows(self.statement),
            lastInsertID: mysql_stmt_insert_id(self.statement)
        )
    }

    /// Reads every row. Variable-length columns start in a small buffer; a
    /// longer value is fetched whole with `mysql_stmt_fetch_column`.
    private func fetchRows() throws(MySQLError) -> [MySQLRow] {
        let count = self.fields.count
        let results = self.results
        defer { mysql_stmt_free_result(self.statement) }
        if mysql_stmt_bind_result(self.statement, results.binds) != 0 {
            throw Self.error(self.statement)
        }
        var rows: [MySQLRow] = []
        while true {
            let status = mysql_stmt_fetch(self.statement)
            if status == MYSQL_NO_DATA { break }
            if status == 1 { throw Self.error(self.statement) }
            var values: [MySQLValue] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                values.append(try self.value(at: index, results))
            }
            rows.append(MySQLRow(columns: self.columns, values: values))
        }
        return rows
    }

    private func value(at index: Int, _ results: ResultBuffers) throws(MySQLError) -> MySQLValue {
        let bind = results.binds[index]
        if bind.is_null.pointee != 0 { return .null }
        let field = self.fields[index]
        switch bind.buffer_type {
        case MYSQL_TYPE_LONGLONG:
            return .int(bind.buffer.load(as: Int64.self))
        case MYSQL_TYPE_DOUBLE:
            return .double(bind.buffer.load(as: Double.self))
        case MYSQL_TYPE_DATETIME:
            return .date(MySQLTime.date(from: bind.buffer.load(as: MYSQL_TIME.self)))
        default:
            let length = Int(bind.length.pointee)
            let bytes: [UInt8]
            if length <= Int(bind.buffer_length) {
                bytes = Array(UnsafeRawBufferPointer(start: bind.buffer, count: length))
            } else {
                bytes = try self.fetchWhole(column: index, length: length, type: bind.buffer_type)
            }
            return field.isBinary ? .bytes(bytes) : .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    private func fetchWhole(column: Int, length: Int, type: enum_field_types) throws(MySQLError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        var fetchedLength: UInt = 0
        let status = bytes.withUnsafeMutableBytes { buffer -> Int32 in
            var bind = MYSQL_BIND()
            bind.buffer_type = type
            bind.buffer = buffer.baseAddress
            bind.buffer_length = UInt(length)
            return withUnsafeMutablePointer(to: &fetchedLength) { lengthPointer in
                bind.length = lengthPointer
                return mysql_stmt_fetch_column(self.statement, &bind, UInt32(column), 0)
            }
        }
        if status != 0 { throw Self.error(self.statement) }
        return bytes
    }

    static func error(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> MySQLError {
        MySQLError.classify(
            code: mysql_stmt_errno(statement),
            sqlState: String(cString: mysql_stmt_sqlstate(statement)),
            message: String(cString: mysql_stmt_error(statement))
        )
    }

    static func connectionError(_ connection: UnsafeMutablePointer<MYSQL>) -> MySQLError {
        MySQLError.classify(
            code: mysql_errno(connection),
            sqlState: String(cString: mysql_sqlstate(connection)),
            message: String(cString: mysql_error(connection))
        )
    }
}

/// Parameter binds of one execution and one buffer holding all their values:
/// two allocations however many values a batch statement binds (one per
/// value showed up in profiles). Not kept between executions: a cached batch
/// statement binds thousands of values, and Connector/C keeps its own copy.
private struct ParameterBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let storage: UnsafeMutableRawPointer

    init(_ values: [MySQLValue]) {
        self.binds = .allocate(capacity: max(values.count, 1))
        self.binds.initialize(repeating: MYSQL_BIND(), count: max(values.count, 1))
        var size = 0
        for value in values { size += Self.aligned(Self.size(of: value)) }
        self.storage = .allocate(byteCount: max(size, 8), alignment: 8)
        self.set(values)
    }

    /// Copies `values` into the buffer and points the binds at them.
    private func set(_ values: [MySQLValue]) {
        var offset = 0
        for (index, value) in values.enumerated() {
            let slot = self.storage + offset
            var bind = MYSQL_BIND()
            bind.buffer = slot
            switch value {
            case .null:
                bind.buffer_type = MYSQL_TYPE_NULL
            case .int(let number):
                slot.storeBytes(of: number, as: Int64.self)
                bind.buffer_type = MYSQL_TYPE_LONGLONG
            case .double(let number):
                slot.storeBytes(of: number, as: Double.self)
                bind.buffer_type = MYSQL_TYPE_DOUBLE
            case .bool(let flag):
                slot.storeBytes(of: Int8(flag ? 1 : 0), as: Int8.self)
                bind.buffer_type = MYSQL_TYPE_TINY
            case .date(let date):
                slot.storeBytes(of: MySQLTime.time(from: date), as: MYSQL_TIME.self)
                bind.buffer_type = MYSQL_TYPE_DATETIME
            case .string(var text):
                bind.buffer_type = MYSQL_TYPE_STRING
                text.withUTF8 { if let base = $0.baseAddress { slot.copyMemory(from: base, byteCount: $0.count) } }
            case .bytes(let bytes):
                bind.buffer_type = MYSQL_TYPE_BLOB
                bytes.withUnsafeBytes { if let base = $0.baseAddress { slot.copyMemory(from: base, byteCount: $0.count) } }
            }
            let size = Self.size(of: value)
            bind.buffer_length = UInt(size)
            self.binds[index] = bind
            offset += Self.aligned(size)
        }
    }

    private static func size(of value: MySQLValue) -> Int {
        switch value {
        case .null: 0
        case .int, .double: 8
        case .bool: 1
        case .date: MemoryLayout<MYSQL_TIME>.size
        case .string(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        }
    }

    private static func aligned(_ size: Int) -> Int { (size + 7) & ~7 }

    func deallocate() {
        self.storage.deallocate()
        self.binds.deallocate()
    }
}

/// Result binds: fixed-size slots for numbers and times, a reusable buffer for text.
private struct ResultBuffers {
    static let inlineCapacity = 512

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let count: Int
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<CChar>
    private let errors: UnsafeMutablePointer<CChar>
    private var allocations: [UnsafeMutableRawPointer] = []

    init(fields: [(type: enum_field_types, isUnsigned: Bool)]) {
        self.count = fields.count
        self.binds = .allocate(capacity: self.count)
        self.binds.initialize(repeating: MYSQL_BIND(), count: self.count)
        self.lengths = .allocate(capacity: self.count)
        self.lengths.initialize(repeating: 0, count: self.count)
        self.nulls = .allocate(capacity: self.count)
        self.nulls.initialize(repeating: 0, count: self.count)
        self.errors = .allocate(capacity: self.count)
        self.errors.initialize(repeating: 0, count: self.count)
        for (index, field) in fields.enumerated() {
            let (bindType, size): (enum_field_types, Int) =
                switch field.type {
                case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_INT24, MYSQL_TYPE_YEAR:
                    (MYSQL_TYPE_LONGLONG, 8)
                case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE:
                    (MYSQL_TYPE_DOUBLE, 8)
                case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_DATE:
                    (MYSQL_TYPE_DATETIME, MemoryLayout<MYSQL_TIME>.size)
                default:
                    (MYSQL_TYPE_STRING, Self.inlineCapacity)
                }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            self.allocations.append(buffer)
            self.binds[index].buffer_type = bindType
            self.binds[index].buffer = buffer
            self.binds[index].buffer_length = UInt(size)
            self.binds[index].is_unsigned = field.isUnsigned ? 1 : 0
            self.binds[index].length = self.lengths + index
            self.binds[index].is_null = self.nulls + index
            self.binds[index].error = self.errors + index
        }
    }

    func deallocate() {
        for allocation in self.allocations { allocation.deallocate() }
        self.binds.deallocate()
        self.lengths.deallocate()
        self.nulls.deallocate()
        self.errors.deallocate()
    }
}
