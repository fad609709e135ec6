import Foundation
import SkeinCore

/// Nearest-rank percentiles, the one rule every latency figure in the snapshot uses.
///
/// Nearest rank returns a value that was actually observed (no interpolation), so a p99 over ten
/// requests is the slowest request rather than an invented number between two of them.
public enum PercentileRank {
    /// The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` values: the value at rank ⌈p/100 · n⌉.
    public static func nearestRank(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// p50/p95/p99/max of unsorted values.
    public static func of(_ values: [Double]) -> Percentiles {
        let s = values.sorted()
        return Percentiles(count: s.count, p50: nearestRank(s, 50), p95: nearestRank(s, 95),
                           p99: nearestRank(s, 99), max: s.last)
    }
}

/// A bounded latency distribution: exact values while few, then a log-bucket histogram.
///
/// Up to `exactLimit` samples percentiles are exact (nearest rank). Past that the samples move into
/// a histogram whose buckets grow by 2 %, so a reported percentile is within ±1 % of a value at the
/// same rank, and memory stays fixed (about 5 KB) however many samples arrive. `max` is always exact.
struct LatencyDigest {
    static let exactLimit = 512
    static let ratio = 1.02
    static let floorMS = 0.001
    static let bucketCount = 1280          // 0.001 ms · 1.02^1280 ≈ 1e8 ms
    private static let logRatio = Foundation.log(ratio)

    private(set) var count = 0
    private var exact: [Double] = []
    private var histogram: [UInt32] = []
    private var maxValue = -Double.infinity
    private var minValue = Double.infinity

    mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        let v = Swift.max(value, 0)
        count += 1
        maxValue = Swift.max(maxValue, v)
        minValue = Swift.min(minValue, v)
        if histogram.isEmpty {
            exact.append(v)
            if exact.count > LatencyDigest.exactLimit {
                histogram = Array(repeating: 0, count: LatencyDigest.bucketCount)
                for x in exact { histogram[LatencyDigest.bucket(x)] &+= 1 }
                exact = []
            }
        } else {
            histogram[LatencyDigest.bucket(v)] &+= 1
        }
    }

    static func bucket(_ v: Double) -> Int {
        if v <= floorMS { return 0 }
        let i = Int(Foundation.log(v / floorMS) / logRatio)
        return Swift.min(Swift.max(i, 0), bucketCount - 1)
    }

    var percentiles: Percentiles {
        guard count > 0 else { return Percentiles() }
        if histogram.isEmpty { return PercentileRank.of(exact) }
        return Percentiles(count: count, p50: histogramRank(50), p95: histogramRank(95),
                           p99: histogramRank(99), max: maxValue)
    }

    private func histogramRank(_ p: Double) -> Double {
        let rank = Swift.max(1, Int((p / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (i, c) in histogram.enumerated() where c > 0 {
            seen += Int(c)
            if seen >= rank {
                // The bucket's geometric middle, kept inside what was actually observed.
                let mid = LatencyDigest.floorMS * Foundation.pow(LatencyDigest.ratio, Double(i) + 0.5)
                return Swift.min(Swift.max(mid, minValue), maxValue)
            }
        }
        return maxValue
    }
}

/// A fixed-length ring of time buckets ending at the newest bucket seen.
///
/// Counters start each bucket at zero; gauges carry the last value forward so a quiet second still
/// shows the level it held, and keep the highest value set within a bucket so peaks are not lost.
struct BucketSeries {
    enum Mode { case counter, gauge }
    let bucketNanos: Int64
    let length: Int
    let mode: Mode
    private var ring: [Double]
    private var head: Int64?
    private var current: Double = 0
    /// Where the head bucket starts (nanoseconds) and its slot: a sample in the head bucket, nearly
    /// every one (time moves forward), goes there without the two divisions `bucket` and `slot` take.
    private var headStart: Int64 = 0
    private var headSlot = 0

    init(bucketMS: Double, length: Int, mode: Mode) {
        bucketNanos = Swift.max(1, Int64((bucketMS * 1_000_000).rounded()))
        self.length = Swift.max(1, length)
        self.mode = mode
        ring = Array(repeating: 0, count: Swift.max(1, length))
    }

    private func bucket(_ t: Timestamp) -> Int64 {
        let q = t.nanos / bucketNanos
        return (t.nanos % bucketNanos < 0) ? q - 1 : q
    }

    private func slot(_ b: Int64) -> Int {
        let m = b % Int64(length)
        return Int(m < 0 ? m + Int64(length) : m)
    }

    private mutating func roll(to b: Int64) {
        let fill = mode == .gauge ? current : 0
        guard let h = head else {
            for i in ring.indices { ring[i] = fill }
            setHead(b)
            return
        }
        guard b > h else { return }
        if b - h >= Int64(length) {
            for i in ring.indices { ring[i] = fill }
        } else {
            var x = h + 1
            while x <= b { ring[slot(x)] = fill; x += 1 }
        }
        setHead(b)
    }

    private mutating func setHead(_ b: Int64) {
        head = b
        headStart = b &* bucketNanos
        headSlot = slot(b)
    }

    /// Whether `t` falls in the head bucket: one subtraction and one unsigned comparison (a time
    /// before the bucket wraps to a huge distance).
    @inline(__always)
    private func inHead(_ t: Timestamp) -> Bool {
        head != nil && UInt64(bitPattern: t.nanos &- headStart) < UInt64(bitPattern: bucketNanos)
    }

    /// Adds to a counter bucket; samples older than the window are ignored.
    mutating func add(_ amount: Double, at t: Timestamp) {
        if inHead(t) {
            ring[headSlot] += amount
            return
        }
        let b = bucket(t)
        roll(to: b)
        guard let h = head, b > h - Int64(length) else { return }
        ring[slot(b)] += amount
    }

    /// Sets a gauge; its bucket keeps the highest value set in it.
    mutating func set(_ value: Double, at t: Timestamp) {
        current = value
        if inHead(t) {
            ring[headSlot] = Swift.max(ring[headSlot], value)
            return
        }
        let b = bucket(t)
        roll(to: b)
        guard let h = head, b > h - Int64(length) else { return }
        let s = slot(b)
        ring[s] = Swift.max(ring[s], value)
    }

    /// The buckets oldest first, the last one holding `now`; `scale` converts (e.g. to per-second).
    func values(endingAt now: Timestamp, scale: Double = 1) -> [Double] {
        var copy = self
        copy.roll(to: bucket(now))
        guard let h = copy.head else { return [] }
        var out: [Double] = []
        out.reserveCapacity(length)
        var b = h - Int64(length) + 1
        while b <= h { out.append(copy.ring[copy.slot(b)] * scale); b += 1 }
        return out
    }
}
