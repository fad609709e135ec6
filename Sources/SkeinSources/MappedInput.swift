#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import CMappedGuard

/// Reads a regular file through a read-only mapping, a window at a time, instead of `read(2)`.
///
/// `read(2)` copies every byte out of the page cache: for a 350 MB export that copy was a tenth of
/// the time of the thread that read. Mapped, the decoder reads the page cache's own pages. Windows
/// are unmapped once read, so the process's resident size does not grow with the file.
///
/// A file that shrinks while mapped would raise SIGBUS when a page past its new end is read: each
/// window is read under `skein_guard_begin`, which maps zeros in place of the missing pages and
/// marks the window, and the window's size is checked against the file's before it is read. The
/// zeros read in that race end up in a malformed line, counted like any other.
enum MappedInput {
    enum Outcome: Equatable {
        /// Not a regular file, empty, or the mapping was refused: read it with `read(2)`.
        case notMapped
        /// Read as far as the size it had; the descriptor's offset is there, for `read(2)` to go on.
        case read(Int)
        /// The file became shorter than the bytes already read (at that size).
        case shrank(at: Int)
        /// A page of the file could not be read (an I/O error under the mapping), at that offset or after.
        case unreadable(at: Int)
        case failed(Int32)
    }

    /// Bytes mapped at a time: large enough that mapping costs nothing per line, small enough to
    /// keep the resident size flat.
    static let window = 16 << 20

    /// Feeds the file's bytes, `slice` at a time, to `consume`.
    static func read(fd: Int32, slice: Int, window: Int = MappedInput.window,
                     into consume: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        guard let start = FileIdentity.of(fd: fd), start.isRegular, start.size > 0 else { return .notMapped }
        let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let step = max(pageSize, window / pageSize * pageSize)
        let total = Int(start.size)
        var at = 0
        /// Mapping refused (a file system without mmap, no guard slot): `read(2)` takes the rest.
        func readInstead() -> Outcome {
            if at == 0 { return .notMapped }
            return lseek(fd, off_t(at), SEEK_SET) < 0 ? .failed(errno) : .read(at)
        }
        while at < total {
            // A window never reaches past the file's current end.
            guard let now = FileIdentity.of(fd: fd) else { return .failed(errno) }
            let end = min(total, Int(now.size))
            if end <= at { return .shrank(at: end) }
            let length = min(step, end - at)
            guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(at)), base != MAP_FAILED else {
                return readInstead()
            }
            _ = madvise(base, length, MADV_SEQUENTIAL)
            let slot = skein_guard_begin(base, length)
            if slot < 0 {
                munmap(base, length)
                return readInstead()
            }
            var offset = 0
            while offset < length && skein_guard_hit(slot) == 0 {
                let n = min(slice, length - offset)
                consume(UnsafeRawBufferPointer(start: base + offset, count: n))
                offset += n
            }
            let cut = skein_guard_end(slot) != 0
            munmap(base, length)
            if cut {
                // Pages go missing when the file is cut short, or when they cannot be read (the
                // same SIGBUS): the size tells which.
                let size = FileIdentity.of(fd: fd).map { Int($0.size) } ?? at
                return size < at + length ? .shrank(at: size) : .unreadable(at: at)
            }
            at += length
        }
        return lseek(fd, off_t(at), SEEK_SET) < 0 ? .failed(errno) : .read(at)
    }
}
