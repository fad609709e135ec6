#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import CSkeinSys

/// Reads a regular file through a read-only mapping, a window at a time, instead of `read(2)`.
///
/// `read(2)` copies every byte out of the page cache: for a 350 MB export that copy was a tenth of
/// the time of the thread that read. Mapped, the decoder reads the page cache's own pages. A window
/// is unmapped once read, so the process's resident size does not grow with the file.
///
/// A file that shrinks while mapped would raise SIGBUS when a page past its new end is read: each
/// window is read under `skein_guard_begin`, which maps zeros in place of the missing pages and
/// marks the window, and a window never reaches past the file's size when it is mapped. The zeros
/// read in that race end up in a malformed line, counted like any other; the next read says what
/// happened. Like `read(2)`, reading goes on to the file's current end, so a growing file is read
/// as far as it has grown.
final class MappedReader {
    enum Next {
        /// The next bytes, valid until the next call.
        case bytes(UnsafeRawBufferPointer)
        /// The file's current end.
        case end
        /// The file became shorter than the bytes already read (at that size).
        case shrank(at: Int)
        /// A page could not be read (an I/O error under the mapping), at that offset or after.
        case unreadable(at: Int)
        /// The mapping was refused (no guard slot free, a file system without mmap): read the rest
        /// with `read(2)`; the descriptor's offset has been set to `offset`.
        case unmapped
        case failed(Int32)
    }

    let fd: Int32
    /// Where the next bytes come from.
    private(set) var offset: Int
    private let step: Int
    private let pageSize: Int
    private var base: UnsafeMutableRawPointer?
    private var start = 0
    private var length = 0
    private var slot: Int32 = -1

    /// Nil unless `fd` is a regular file.
    init?(fd: Int32, at offset: Int = 0, window: Int) {
        guard let file = FileIdentity.of(fd: fd), file.isRegular else { return nil }
        self.fd = fd
        self.offset = offset
        pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        step = max(pageSize, window / pageSize * pageSize)
    }

    deinit { _ = unmap() }

    /// Reads on from `offset` (a later `next` maps the window around it).
    func seek(to offset: Int) {
        if base != nil && (offset < start || offset >= start + length) { _ = unmap() }
        self.offset = offset
    }

    /// Up to `max` bytes from `offset` on.
    func next(max: Int) -> Next {
        if base != nil && (offset >= start + length || skein_guard_hit(slot) != 0) {
            let readTo = start + length
            if unmap() {
                // Pages go missing when the file is cut short, or when they cannot be read (the
                // same SIGBUS): the size tells which.
                let size = FileIdentity.of(fd: fd).map { Int($0.size) } ?? 0
                return size < readTo ? .shrank(at: size) : .unreadable(at: start)
            }
        }
        if base == nil {
            guard let file = FileIdentity.of(fd: fd) else { return .failed(errno) }
            let size = Int(file.size)
            if size < offset { return .shrank(at: size) }
            if size == offset { return .end }
            let from = offset / pageSize * pageSize
            let count = min(step, size - from)
            guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, off_t(from)), p != MAP_FAILED else {
                return unmapped()
            }
            _ = madvise(p, count, MADV_SEQUENTIAL)
            let s = skein_guard_begin(p, count)
            if s < 0 {
                munmap(p, count)
                return unmapped()
            }
            (base, start, length, slot) = (p, from, count, s)
        }
        let n = min(max, start + length - offset)
        let bytes = UnsafeRawBufferPointer(start: base! + (offset - start), count: n)
        // Where this read has got to, for the engine's thread to map pages ahead of it while it
        // waits (during an export; nothing otherwise).
        skein_populate_input(base!, length, base! + (offset - start))
        offset += n
        return .bytes(bytes)
    }

    private func unmapped() -> Next {
        lseek(fd, off_t(offset), SEEK_SET) < 0 ? .failed(errno) : .unmapped
    }

    /// Unmaps the window; returns whether it was cut short while mapped.
    private func unmap() -> Bool {
        guard let b = base else { return false }
        let cut = skein_guard_end(slot) != 0
        skein_populate_input_forget(b)
        // Unmapped by a waiting thread during an export (right here otherwise).
        skein_retire_mapping(b, length)
        base = nil
        slot = -1
        return cut
    }
}

/// A whole regular file through a `MappedReader` (`BatchReader`).
enum MappedInput {
    enum Outcome: Equatable {
        /// Not a regular file, empty, or the mapping was refused: read it with `read(2)`.
        case notMapped
        /// Read to its end; the descriptor's offset is there, for `read(2)` to go on.
        case read(Int)
        /// The file became shorter than the bytes already read (at that size).
        case shrank(at: Int)
        /// A page of the file could not be read, at that offset or after.
        case unreadable(at: Int)
        case failed(Int32)
    }

    /// Bytes mapped at a time: large enough that mapping costs nothing per line, small enough to
    /// keep the resident size flat.
    static let window = 16 << 20

    /// Feeds the file's bytes, `slice` at a time, to `consume`.
    static func read(fd: Int32, slice: Int, window: Int = MappedInput.window,
                     into consume: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        guard let reader = MappedReader(fd: fd, window: window), let file = FileIdentity.of(fd: fd), file.size > 0 else {
            return .notMapped
        }
        while true {
            switch reader.next(max: slice) {
            case .bytes(let b): consume(b)
            case .end: return lseek(fd, off_t(reader.offset), SEEK_SET) < 0 ? .failed(errno) : .read(reader.offset)
            case .shrank(let at): return .shrank(at: at)
            case .unreadable(let at): return .unreadable(at: at)
            case .unmapped: return reader.offset == 0 ? .notMapped : .read(reader.offset)
            case .failed(let code): return .failed(code)
            }
        }
    }
}
