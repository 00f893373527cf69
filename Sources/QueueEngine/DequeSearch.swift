import DequeModule

extension Deque where Element == UInt64 {
    /// The index of the first element not less than `value`, in an ascending deque (binary search).
    func firstIndex(atLeast value: UInt64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
