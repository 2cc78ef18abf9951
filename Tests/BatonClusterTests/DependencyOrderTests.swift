import BatonModel
import Testing

/// "#N" references within one batch: an order exists unless they form a cycle.
@Suite struct DependencyOrderTests {
    @Test func everyItemComesAfterThoseItNames() throws {
        let references = [[1, 2], [3], [3], [], [0]]
        let order = try #require(DependencyOrder.order(references))
        #expect(order.sorted() == [0, 1, 2, 3, 4])
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        for (item, named) in references.enumerated() {
            for parent in named { #expect(position[parent]! < position[item]!) }
        }
    }

    @Test func repeatsAreOneEdge() {
        #expect(DependencyOrder.order([[], [0, 0, 0]]) != nil)
    }

    @Test func cyclesAndSelfReferencesHaveNoOrder() {
        #expect(DependencyOrder.order([[0]]) == nil)
        #expect(DependencyOrder.order([[1], [0]]) == nil)
        #expect(DependencyOrder.order([[], [2], [3], [1]]) == nil)
    }
}
