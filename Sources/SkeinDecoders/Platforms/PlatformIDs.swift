import SkeinCore

/// Trace ids in the shapes platforms print them, through `TraceContext`.
enum PlatformIDs {
    /// `1-5759e988-bd862e3fe1be46a994272793` → the W3C trace id X-Ray's propagators use for it.
    static func traceID(xrayRoot b: UnsafeBufferPointer<UInt8>) -> String? {
        TraceContext.parseXRay(b)?.traceID
    }

    static func traceID(xrayRoot s: String) -> String? {
        TraceContext.parseXRay(s)?.traceID
    }

    /// `Root=1-…;Parent=53995c3f42cd8ad8;Sampled=1` → trace id and parent span id.
    static func amznTraceHeader(_ s: String) -> (traceID: String?, parent: String?) {
        let h = TraceContext.parseXRay(s)
        return (h?.traceID, h?.parentSpanID)
    }

    /// A W3C/OTLP trace id (32 hex), lower-cased; nil for anything else or all zeros.
    static func normalisedTraceID(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { TraceContext.canonicalTraceID($0) }
    }

    static func normalisedSpanID(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { TraceContext.isW3CSpanID($0) ? TraceContext.lowercasedHex($0) : nil }
    }

    @inline(__always)
    static func isHexByte(_ c: UInt8) -> Bool {
        ByteText.isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}
