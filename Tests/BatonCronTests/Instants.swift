import Foundation

/// `2024-03-10T03:00:00-04:00` as a Date: tests read as the local times they mean.
func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    guard let date = formatter.date(from: text) else { fatalError("not an ISO 8601 instant: \(text)") }
    return date
}
