import BatonKit

/// `charge_card`: typed arguments in (`{"amount": 4200, "currency": "EUR",
/// "items": ["book"]}`), a typed receipt out (the task's result, as JSON).
enum ChargeCard {
    struct Charge: Decodable, Sendable {
        var amount: Int
        var currency: String
        /// Optional: a synthesized Decodable ignores default values, so a
        /// key that may be missing is an optional.
        var items: [String]?
    }

    struct Receipt: Encodable, Sendable {
        var charged: Int
        var currency: String
        var items: Int
        var attempt: Int
    }


    static func run(_ charge: Charge, _ context: ExecutionContext) async throws -> Receipt {
        // A refusal a retry cannot cure: no second attempt.
        guard charge.amount > 0 else { throw ExecutionFailure("amount must be positive, got \(charge.amount)", retryable: false) }
        context.log.info("charging \(charge.amount) \(charge.currency) for \(charge.items?.count ?? 0) items")
        // Cancellation (a cancel, the timeout, a shutdown) ends the sleep at once.
        try await Task.sleep(for: .milliseconds(10))
        return Receipt(charged: charge.amount, currency: charge.currency, items: charge.items?.count ?? 0, attempt: context.attempt)
    }
}
