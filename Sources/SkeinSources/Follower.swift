#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import SkeinCore
import SkeinDecoders
import SkeinEngine

/// Settings for following inputs.
public struct FollowConfig: Sendable {
    /// How often the caller should poll when a round found nothing new (the caller owns the loop).
    public var pollInterval: Duration = .milliseconds(250)
    /// Bytes read from one file in one round, so a round stays short while catching up.
    public var readBudgetPerSource: Int = 2 << 20
    /// Bytes read from all inputs in one round: about 20 ms of decoding, so a UI loop that polls
    /// between frames stays responsive while a large backlog is read.
    public var readBudgetPerPoll: Int = 4 << 20
    public var chunkSize: Int = 128 << 10
    public var maxLineLength: Int = LineFramer.defaultMaxLineLength
    /// Rounds without new bytes after which a source's decoder is flushed (a held multi-line event).
    public var quietRoundsBeforeFlush: Int = 4
    /// Files present at the first round start at their end (`tail -F` without history) instead of
    /// their start. Files that appear later are always read from their start.
    public var startAtEnd: Bool = false
    /// Stdin queue: chunks held before the pump drops.
    public var stdinQueueChunks: Int = 256
    /// Files tracked at most; further matches are ignored and counted in `ignoredFiles`.
    public var maxFiles: Int = 4096
    public init() {}
}

/// Follows files, globs, directories and stdin like `tail -F`, one non-blocking round at a time.
///
/// Each round (`poll()`) picks up new files, notices rotation (the path now names another inode:
/// the old file is read to its end, finished, and the new one read from its start), truncation
/// (the size shrank: restart from 0), deletion (finish, then wait for the path to reappear), and
/// reads what was appended, within a byte budget. Stdin is read on a background thread
/// (`StreamPump`) and drained here. Health changes go to the sink. Not thread-safe: one owner.
public final class Follower {
    /// What one round did.
    public struct Round: Sendable, Equatable {
        public var bytesRead = 0
        /// A budget cut reading short: poll again soon rather than after the interval.
        public var behind = false
        public init() {}
    }

    public let specs: [InputSpec]
    public let config: FollowConfig
    private let decoder: DecoderFactory
    private let sink: any IngestSink
    private var files: [FollowedFile] = []
    private var byPath: [String: FollowedFile] = [:]
    /// How far each inode has been read, so a renamed file matched under its new name (`app.log.1`
    /// caught by `app.log*`) continues where reading stopped instead of repeating itself.
    private var readUpTo: [InodeKey: Int64] = [:]
    private var stdin: FollowedStream?
    private var rounds = 0
    private let buffer: UnsafeMutableRawBufferPointer
    public private(set) var ignoredFiles = 0

    /// `stdinFD` is the descriptor `-` reads (tests pass a pipe).
    public init(_ specs: [InputSpec], decoder: DecoderFactory, sink: any IngestSink,
                config: FollowConfig = FollowConfig(), stdinFD: Int32 = 0) {
        self.specs = specs
        self.config = config
        self.decoder = decoder
        self.sink = sink
        buffer = .allocate(byteCount: max(4096, config.chunkSize), alignment: 16)
        if specs.contains(.stdin) {
            let id = sink.addSource(name: "stdin")
            let pump = StreamPump(fd: stdinFD, capacity: config.stdinQueueChunks)
            stdin = FollowedStream(pump: pump, ingest: Ingest(source: id, decoder: decoder, maxLineLength: config.maxLineLength))
            pump.start()
        }
    }

    deinit {
        for f in files where f.fd >= 0 { POSIX.closeFile(f.fd) }
        buffer.deallocate()
    }

    /// Sources in the order they were found: stdin first, then files.
    public var sources: [(name: String, id: SourceID)] {
        (stdin.map { [("stdin", $0.ingest.source)] } ?? []) + files.map { ($0.path, $0.ingest.source) }
    }

    /// True when only stdin is followed and it has ended: nothing more can arrive.
    public var isExhausted: Bool {
        files.isEmpty && specs.allSatisfy { $0 == .stdin } && (stdin?.finished ?? true)
    }

    /// One round: drain stdin, service every tracked file, then discover new ones. Never blocks.
    @discardableResult
    public func poll() -> Round {
        var round = Round()
        var budget = config.readBudgetPerPoll
        if let stdin { drainStdin(stdin, budget: &budget, &round) }
        // Start at a different file each round so a busy file early in the list cannot starve the rest.
        let count = files.count
        for i in 0..<count { service(files[(i + rounds) % count], budget: &budget, round: &round) }
        discover(budget: &budget, round: &round)
        rounds += 1
        return round
    }

    /// Polls until `shouldStop` says so: again at once while behind, else after `pollInterval`
    /// (through `sleep`, so tests and a UI loop decide how waiting happens).
    public func run(shouldStop: () -> Bool, sleep: (Duration) -> Void) {
        while !shouldStop() && !isExhausted {
            if !poll().behind { sleep(config.pollInterval) }
        }
    }

    /// End of following: finishes every open source's pending line and decoder state.
    public func finish() {
        for file in files {
            file.ingest.finish(into: sink)
            if file.fd >= 0 { POSIX.closeFile(file.fd); file.fd = -1 }
            if case .failed? = file.health { continue }
            report(.finished, file.health, for: file)
        }
        if let stdin, !stdin.finished {
            stdin.ingest.finish(into: sink)
            stdin.finished = true
        }
    }

    // MARK: - Discovery

    private func discover(budget: inout Int, round: inout Round) {
        for spec in specs where spec != .stdin {
            for path in spec.paths() where byPath[path] == nil {
                guard files.count < config.maxFiles else { ignoredFiles += 1; continue }
                // A file we are still reading under its old name waits until that is drained.
                if let id = FileIdentity.of(path: path), files.contains(where: { $0.fd >= 0 && $0.identity.map(id.sameFile) == true }) {
                    continue
                }
                let file = FollowedFile(path: path, ingest: Ingest(source: sink.addSource(name: path), decoder: decoder,
                                                                   maxLineLength: config.maxLineLength))
                files.append(file)
                byPath[path] = file
                file.atEndOnOpen = config.startAtEnd && rounds == 0
                service(file, budget: &budget, round: &round)
            }
        }
    }

    // MARK: - One file

    private func service(_ file: FollowedFile, budget: inout Int, round: inout Round) {
        if file.fd < 0 && !open(file) { return }
        guard let openID = FileIdentity.of(fd: file.fd) else {
            close(file, health: .failed(reason: "cannot stat \(file.path): \(POSIX.errorText())"))
            return
        }
        if openID.size < file.offset {
            // Truncated in place (copytruncate): what was pending belonged to the old content.
            file.ingest.restart(at: 0, into: sink)
            file.offset = 0
            _ = POSIX.seek(file.fd, to: 0)
        }
        let (bytes, atEnd) = read(file, budget: &budget)
        round.bytesRead += bytes
        if file.fd < 0 { return }  // a read error closed it
        if !atEnd { round.behind = true }
        remember(file, identity: openID)

        if bytes > 0 {
            file.quietRounds = 0
            report(.reading, file.health, for: file)
        } else if atEnd {
            file.quietRounds += 1
            if file.quietRounds == config.quietRoundsBeforeFlush { file.ingest.flush(into: sink) }
        }
        guard atEnd else { return }

        // Caught up with the open file: has the path moved on to another file, or gone?
        let pathID = FileIdentity.of(path: file.path)
        if let pathID, pathID.sameFile(as: openID) {
            if bytes == 0 { report(.waiting, file.health, for: file) }
            return
        }
        file.ingest.finish(into: sink)
        close(file, health: .waiting)
        if pathID != nil {
            // Rotated: the new file is read from its start now.
            file.ingest.restart(at: 0, finishing: false, into: sink)
            service(file, budget: &budget, round: &round)
        }
    }

    private func open(_ file: FollowedFile) -> Bool {
        guard let pathID = FileIdentity.of(path: file.path) else {
            report(.waiting, file.health, for: file)
            return false
        }
        guard !pathID.isDirectory else {
            report(.failed(reason: SourceError.notRegularFile(path: file.path).description), file.health, for: file)
            return false
        }
        // Non-blocking, so a FIFO named as a file cannot stall a round.
        let fd = POSIX.openNonBlocking(file.path)
        guard fd >= 0 else {
            report(.failed(reason: SourceError.cannotOpen(path: file.path, reason: POSIX.errorText()).description),
                   file.health, for: file)
            return false
        }
        let id = FileIdentity.of(fd: fd) ?? pathID
        var start: Int64 = 0
        if file.atEndOnOpen {
            start = id.size
            file.atEndOnOpen = false
        } else if let known = readUpTo[InodeKey(id)], known <= id.size, !file.everOpened {
            start = known
        }
        if start > 0 { _ = POSIX.seek(fd, to: start) }
        file.fd = fd
        file.identity = id
        file.offset = start
        file.everOpened = true
        file.ingest.restart(at: start, finishing: false, into: sink)
        report(.reading, file.health, for: file)
        return true
    }

    /// Reads until end of file or the budget; returns bytes read and whether it reached the end.
    private func read(_ file: FollowedFile, budget: inout Int) -> (Int, Bool) {
        var total = 0
        var perSource = config.readBudgetPerSource
        while perSource > 0 && budget > 0 {
            let want = min(buffer.count, perSource, budget)
            let n = POSIX.readSome(file.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            if n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { return (total, true) }
            if n < 0 {
                let reason = SourceError.readFailed(path: file.path, reason: POSIX.errorText()).description
                file.ingest.finish(into: sink)
                close(file, health: .failed(reason: reason))
                return (total, true)
            }
            file.ingest.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: sink)
            file.offset += Int64(n)
            total += n
            perSource -= n
            budget -= n
        }
        return (total, false)
    }

    private func remember(_ file: FollowedFile, identity: FileIdentity) {
        if readUpTo.count > 4 * config.maxFiles { readUpTo.removeAll(keepingCapacity: true) }
        readUpTo[InodeKey(identity)] = file.offset
    }

    private func close(_ file: FollowedFile, health: SourceHealth) {
        if file.fd >= 0 { POSIX.closeFile(file.fd) }
        file.fd = -1
        file.identity = nil
        report(health, file.health, for: file)
    }

    private func report(_ health: SourceHealth, _ current: SourceHealth?, for file: FollowedFile) {
        guard health != current else { return }
        file.health = health
        sink.setHealth(health, for: file.ingest.source)
    }

    // MARK: - Stdin

    private func drainStdin(_ stream: FollowedStream, budget: inout Int, _ round: inout Round) {
        guard !stream.finished else { return }
        let batch = stream.pump.drain(maxBytes: budget)
        if batch.more { round.behind = true }
        if batch.droppedLines > 0 { sink.countDropped(batch.droppedLines) }
        for chunk in batch.chunks {
            if chunk.afterGap { stream.ingest.resynchronize() }
            chunk.bytes.withUnsafeBufferPointer { stream.ingest.consume($0, into: sink) }
            round.bytesRead += chunk.bytes.count
            budget -= chunk.bytes.count
        }
        let id = stream.ingest.source
        if batch.ended {
            stream.ingest.finish(into: sink)
            stream.finished = true
            let health: SourceHealth = batch.error.map { .failed(reason: "cannot read stdin: \($0)") } ?? .finished
            stream.setHealth(health, sink: sink, id: id)
        } else if batch.chunks.isEmpty {
            stream.quietRounds += 1
            if stream.quietRounds == config.quietRoundsBeforeFlush { stream.ingest.flush(into: sink) }
            stream.setHealth(.waiting, sink: sink, id: id)
        } else {
            stream.quietRounds = 0
            stream.setHealth(.reading, sink: sink, id: id)
        }
    }
}

private struct InodeKey: Hashable {
    var device: UInt64
    var inode: UInt64
    init(_ id: FileIdentity) { device = id.device; inode = id.inode }
}

private final class FollowedFile {
    let path: String
    let ingest: Ingest
    var fd: Int32 = -1
    var identity: FileIdentity?
    var offset: Int64 = 0
    var health: SourceHealth?
    var quietRounds = 0
    var atEndOnOpen = false
    var everOpened = false
    init(path: String, ingest: Ingest) { self.path = path; self.ingest = ingest }
}

private final class FollowedStream {
    let pump: StreamPump
    let ingest: Ingest
    var finished = false
    var quietRounds = 0
    var health: SourceHealth?
    init(pump: StreamPump, ingest: Ingest) { self.pump = pump; self.ingest = ingest }

    func setHealth(_ h: SourceHealth, sink: any IngestSink, id: SourceID) {
        guard h != health else { return }
        health = h
        sink.setHealth(h, for: id)
    }
}
