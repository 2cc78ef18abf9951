@testable import BatonService
import Testing

@Suite struct PageBudgetTests {
    @Test func smallRowsFillThePageByCount() {
        var budget = PageBudget(maxRows: 100, maxBytes: 3 << 20)
        #expect(budget.nextChunk == 8)
        var taken = 0
        while budget.take(300) { taken += 1 }
        #expect(taken == 100)
        #expect(budget.isFull)
    }

    @Test func largeRowsStopAtTheByteBudgetButOneAlwaysFits() {
        var budget = PageBudget(maxRows: 100, maxBytes: 3 << 20)
        let first = budget.take(5 << 20)
        let second = budget.take(1)
        #expect(first, "a page holds its first row, however large")
        #expect(!second)
        var megabytes = PageBudget(maxRows: 1000, maxBytes: 3 << 20)
        var taken = 0
        while megabytes.take(1 << 20) { taken += 1 }
        #expect(taken == 3)
        #expect(megabytes.bytes <= 3 << 20)
    }

    @Test func chunksFollowTheAverageRowSize() {
        var budget = PageBudget(maxRows: 1000, maxBytes: 3 << 20)
        _ = budget.take(1 << 20)
        _ = budget.take(1 << 20)
        #expect(budget.rows == 2)
        // 1 MiB left at 1 MiB a row: one more row, plus one to see past it.
        #expect(budget.nextChunk == 2)
        var small = PageBudget(maxRows: 1000, maxBytes: 3 << 20)
        for _ in 0..<8 { _ = small.take(100) }
        #expect(small.rows == 8)
        #expect(small.nextChunk == 992, "small rows: the rest of the page in one read")
    }
}
