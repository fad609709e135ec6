import SkeinCore

/// A blank event for decoders to start each line from (far cheaper than `Event.init` with its
/// thirty defaults), kept behind one reference so that a decoder holding it stays small to copy.
///
/// Copied as bytes: a blank event's references are all nil, or the empty array's shared storage
/// (which the runtime never counts or frees), so a bitwise copy owns nothing it did not retain.
/// Copied as a value, each of its optional strings and arrays went through a retain call: about
/// 250 instructions per line on the decoding thread, which sets the export's pace.
final class BlankEvent: @unchecked Sendable {
    private let blank: UnsafeMutablePointer<Event>

    init() {
        let event = Event(time: .zero)
        // The proof of the above, checked once: every counted field empty. A field added to `Event`
        // changes its size and stops here, to be checked and added.
        precondition(MemoryLayout<Event>.size == 296, "Event changed: check that a blank one holds no counted reference")
        precondition(event.traceID == nil && event.correlationID == nil && event.requestID == nil
            && event.route == nil && event.method == nil && event.message == nil
            && event.spanID == nil && event.parentSpanID == nil && event.messageFacts == nil
            && event.attributes.isEmpty && event.attributes.capacity == 0)
        blank = .allocate(capacity: 1)
        blank.initialize(to: event)
    }

    deinit {
        blank.deinitialize(count: 1)
        blank.deallocate()
    }

    /// A fresh blank event.
    @inline(__always)
    var event: Event {
        withUnsafeTemporaryAllocation(of: Event.self, capacity: 1) { slot in
            let p = slot.baseAddress!
            UnsafeMutableRawPointer(p).copyMemory(from: blank, byteCount: MemoryLayout<Event>.size)
            return p.move()
        }
    }

    /// Appends a blank event to `events`: copied into the array from the bytes (through `event`,
    /// the value took one more 296-byte copy: 57 instructions per line).
    @inline(__always)
    func append(to events: inout [Event]) {
        events.append(contentsOf: One(blank: blank))
    }

    /// The blank event as a one-element sequence that copies itself into the array's own storage
    /// (`_copyContents`, which `append(contentsOf:)` asks for): one 296-byte copy, where appending a
    /// value copied it into a temporary first.
    private struct One: Sequence {
        let blank: UnsafeMutablePointer<Event>
        var underestimatedCount: Int { 1 }

        func makeIterator() -> EmptyCollection<Event>.Iterator { EmptyCollection<Event>().makeIterator() }

        func _copyContents(initializing buffer: UnsafeMutableBufferPointer<Event>)
            -> (EmptyCollection<Event>.Iterator, Int) {
            guard let p = buffer.baseAddress, buffer.count >= 1 else { return (makeIterator(), 0) }
            UnsafeMutableRawPointer(p).copyMemory(from: blank, byteCount: MemoryLayout<Event>.size)
            return (makeIterator(), 1)
        }
    }
}
