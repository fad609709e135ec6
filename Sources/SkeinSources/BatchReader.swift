import Foundation
import SkeinCore
import SkeinDecoders
import SkeinEngine

/// Reads inputs once, start to end: `skein export`, and any input that is not followed.
///
/// Each file becomes a source named by its path; stdin is `stdin`. An input that names nothing
/// (a glob without matches, a missing file) still becomes a source, marked failed, so it shows.
public struct BatchReader: Sendable {
    public var decoder: DecoderFactory
    /// Bytes per `read(2)`. 128 KiB measured about twice as fast as 1 MiB: the buffer stays in
    /// the CPU cache between the kernel's copy and the framer's scan.
    public var chunkSize: Int
    public var maxLineLength: Int
    /// Counts the bytes read, for a progress display.
    public var meter: ReadMeter?

    public init(decoder: DecoderFactory, chunkSize: Int = 128 << 10,
                maxLineLength: Int = LineFramer.defaultMaxLineLength) {
        self.decoder = decoder
        self.chunkSize = max(4096, chunkSize)
        self.maxLineLength = maxLineLength
    }

    /// Reads every input to its end, in argument order; returns the sources created.
    @discardableResult
    public func read(_ specs: [InputSpec], into sink: any IngestSink) -> [SourceID] {
        var ids: [SourceID] = []
        for spec in specs {
            switch spec {
            case .stdin:
                ids.append(readStdin(into: sink))
            case .file(let path):
                ids.append(read(path: path, into: sink))
            case .directory, .glob:
                let paths = spec.paths()
                if paths.isEmpty {
                    let id = sink.addSource(name: spec.description)
                    sink.setHealth(.failed(reason: SourceError.noMatch(pattern: spec.description).description), for: id)
                    ids.append(id)
                }
                for path in paths { ids.append(read(path: path, into: sink)) }
            }
        }
        return ids
    }

    /// Reads one file to its end as a new source.
    @discardableResult
    public func read(path: String, into sink: any IngestSink) -> SourceID {
        let id = sink.addSource(name: path)
        switch POSIX.openForReading(path) {
        case .failure(let error):
            sink.setHealth(.failed(reason: error.description), for: id)
        case .success(let fd):
            defer { POSIX.closeFile(fd) }
            let ingest = Ingest(source: id, decoder: decoder, maxLineLength: maxLineLength)
            sink.setHealth(.reading, for: id)
            sink.setHealth(readToEnd(fd: fd, name: path, ingest: ingest, into: sink), for: id)
        }
        return id
    }

    /// Reads standard input to its end on the calling thread (batch mode only; followers use `StdinPump`).
    @discardableResult
    public func readStdin(into sink: any IngestSink) -> SourceID {
        let id = sink.addSource(name: "stdin")
        let ingest = Ingest(source: id, decoder: decoder, maxLineLength: maxLineLength)
        sink.setHealth(.reading, for: id)
        sink.setHealth(readToEnd(fd: 0, name: "stdin", ingest: ingest, into: sink), for: id)
        return id
    }

    /// Feeds an open descriptor to `ingest` until end of file; returns the health it ended in.
    ///
    /// A regular file is read through a mapping, as far as its size when it was opened (see
    /// `MappedInput`); whatever follows (a file still being written), and every other descriptor,
    /// through `read(2)` calls on a thread of their own, a few chunks ahead: the kernel's copy
    /// out of the page cache then overlaps the decoding instead of coming before it.
    public func readToEnd(fd: Int32, name: String, ingest: Ingest, into sink: any IngestSink) -> SourceHealth {
        let meter = self.meter
        let mappedFailure: String?
        switch MappedInput.read(fd: fd, slice: chunkSize, into: { ingest.consume($0, into: sink); meter?.add($0.count) }) {
        case .shrank(let at): mappedFailure = "the file shrank below \(at) bytes while it was read"
        case .unreadable(let at): mappedFailure = "a page at or after byte \(at) could not be read"
        case .failed(let code): mappedFailure = POSIX.errorText(code)
        case .notMapped, .read: mappedFailure = nil
        }
        if let mappedFailure {
            ingest.finish(into: sink)
            return .failed(reason: SourceError.readFailed(path: name, reason: mappedFailure).description)
        }
        let prefetch = ReadAhead(fd: fd, chunkSize: chunkSize, chunks: 4)
        defer { prefetch.finish() }
        while true {
            switch prefetch.next() {
            case .data(let i, let n):
                ingest.consume(UnsafeRawBufferPointer(rebasing: prefetch.buffers[i][0..<n]), into: sink)
                prefetch.release(i)
                meter?.add(n)
            case .end:
                ingest.finish(into: sink)
                return .finished
            case .failed(let code):
                ingest.finish(into: sink)
                return .failed(reason: SourceError.readFailed(path: name, reason: POSIX.errorText(code)).description)
            }
        }
    }
}

/// Reads a descriptor to its end on a thread of its own into a ring of buffers, for one consumer.
///
/// The reader fills free buffers in order and stops at end of file or at the first error; the
/// consumer takes filled buffers in the same order and hands each back once read. `finish` stops
/// the reader (the consumer may stop early) and waits for it, so the buffers outlive every use.
final class ReadAhead: @unchecked Sendable {
    enum Item { case data(Int, Int), end, failed(Int32) }

    let buffers: [UnsafeMutableRawBufferPointer]
    private let fd: Int32
    private let condition = NSCondition()
    /// Filled buffers in order (index, byte count), then the end or the error.
    private var ready: [Item] = []
    private var free: [Int]
    private var stopped = false
    private var readerDone = false

    init(fd: Int32, chunkSize: Int, chunks: Int) {
        self.fd = fd
        buffers = (0..<chunks).map { _ in .allocate(byteCount: chunkSize, alignment: 16) }
        free = Array((0..<chunks).reversed())
        let thread = Thread { [self] in run() }
        thread.name = "skein-read"
        thread.start()
    }

    deinit {
        for b in buffers { b.deallocate() }
    }

    private func run() {
        while true {
            condition.lock()
            while free.isEmpty && !stopped { condition.wait() }
            if stopped { break }
            let i = free.removeLast()
            condition.unlock()
            let n = POSIX.readSome(fd, into: buffers[i])
            let err = n < 0 ? errno : 0
            condition.lock()
            if n > 0 {
                ready.append(.data(i, n))
            } else {
                ready.append(n == 0 ? .end : .failed(err))
                condition.broadcast()
                break
            }
            condition.broadcast()
            condition.unlock()
        }
        readerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next filled buffer, or how the input ended.
    func next() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty { condition.wait() }
        let item = ready.removeFirst()
        return item
    }

    /// Hands buffer `i` back to the reader.
    func release(_ i: Int) {
        condition.lock()
        free.append(i)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the reader and waits until it no longer touches the buffers or the descriptor.
    func finish() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !readerDone { condition.wait() }
        condition.unlock()
    }
}
