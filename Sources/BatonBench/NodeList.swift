import ArgumentParser

/// The nodes a benchmark talks to, from `--servers host:port,…`.
enum NodeList {
    static func parse(_ text: String) throws -> [(host: String, port: Int)] {
        try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--servers takes host:port,…") }
            return (String(parts[0]), port)
        }
    }
}
