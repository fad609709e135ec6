import XCTest
import SkeinCore
@testable import SkeinDecoders

/// .NET's JSON console formatter with `IncludeScopes`: the request's W3C ids, request id and path are
/// read from the `Scopes` array, below the record's own top-level fields.
final class DotNetScopesTests: XCTestCase {
    static let activity = #"{"Message":"SpanId:2c9f7d3c1e5a4b6f, TraceId:4bf92f3577b34da6a3ce929d0e0e4736, ParentId:00f067aa0ba902b7","SpanId":"2c9f7d3c1e5a4b6f","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","ParentId":"00f067aa0ba902b7"}"#
    static let connection = #"{"Message":"ConnectionId:0HMVD","ConnectionId":"0HMVD"}"#
    static let request = #"{"Message":"RequestPath:/api/orders RequestId:0HMVD:00000001","RequestId":"0HMVD:00000001","RequestPath":"/api/orders"}"#
    static let scopes = "[\(activity),\(connection),\(request)]"

    static func line(_ extra: String = "", scopes: String = scopes) -> String {
        #"{"Timestamp":"2024-05-01T12:00:00.123Z","EventId":1,"LogLevel":"Information","Category":"Microsoft.AspNetCore.Hosting.Diagnostics","Message":"Request starting HTTP/1.1 GET http://localhost:5000/api/orders - - -",\#(extra)"Scopes":\#(scopes)}"#
    }

    func testScopeIDsAreRead() throws {
        var h = ConventionHarness()
        let e = try XCTUnwrap(h.event(Self.line()))
        XCTAssertEqual(e.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(e.spanID, "2c9f7d3c1e5a4b6f")
        XCTAssertEqual(e.parentSpanID, "00f067aa0ba902b7")
        // No other id on the line: the request id is the correlation id, as `request_id` would be.
        XCTAssertEqual(e.correlationID, "0HMVD:00000001")
        XCTAssertNil(e.requestID)
        XCTAssertEqual(e.route, "/api/orders")
        XCTAssertEqual(e.level, .info)
        XCTAssertEqual(e.attribute("Category"), "Microsoft.AspNetCore.Hosting.Diagnostics")
        // Nothing lost: the array stays whole.
        XCTAssertEqual(e.attribute("Scopes"), Self.scopes)
    }

    func testExplicitTopLevelFieldsWin() throws {
        var h = ConventionHarness()
        let own = try XCTUnwrap(h.event(Self.line(#""trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":"a3ce929d0e0e4736","correlation_id":"corr-1","path":"/v2/orders?x=1","#)))
        XCTAssertEqual(own.traceID, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(own.spanID, "b7ad6b7169203331")
        XCTAssertEqual(own.parentSpanID, "a3ce929d0e0e4736")
        XCTAssertEqual(own.correlationID, "corr-1")
        // With a correlation id, the request id is the platform's, as for `request_id`.
        XCTAssertEqual(own.requestID, "0HMVD:00000001")
        XCTAssertEqual(own.route, "/v2/orders")

        // Order does not matter: the same with `Scopes` before the fields.
        let before = #"{"Timestamp":"2024-05-01T12:00:00.123Z","Scopes":\#(Self.scopes),"trace_id":"0af7651916cd43dd8448eb211c80319c","route":"GET /v2/orders","request_id":"req-9"}"#
        let b = try XCTUnwrap(h.event(before))
        XCTAssertEqual(b.traceID, "0af7651916cd43dd8448eb211c80319c")
        // The scope's spans belong to the scope's trace, which this line's own field overrode.
        XCTAssertNil(b.spanID)
        XCTAssertNil(b.parentSpanID)
        XCTAssertEqual(b.route, "GET /v2/orders")
        XCTAssertEqual(b.correlationID, "req-9", "a top-level request_id beats the scope's RequestId")

        // The same trace at top level: the scope fills the span and parent the line did not name.
        let same = try XCTUnwrap(h.event(Self.line(#""traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"1111222233334444","#)))
        XCTAssertEqual(same.spanID, "1111222233334444")
        XCTAssertEqual(same.parentSpanID, "00f067aa0ba902b7")

        // A traceparent is a top-level source too: its trace and parent win.
        let header = try XCTUnwrap(h.event(Self.line(#""traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","#)))
        XCTAssertEqual(header.traceID, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(header.parentSpanID, "b7ad6b7169203331")
        XCTAssertNil(header.spanID)
    }

    func testInvalidOrZeroIDsAreIgnored() throws {
        var h = ConventionHarness()
        let zero = #"[{"SpanId":"2c9f7d3c1e5a4b6f","TraceId":"00000000000000000000000000000000","ParentId":"00f067aa0ba902b7"},\#(Self.request)]"#
        let z = try XCTUnwrap(h.event(Self.line(scopes: zero)))
        XCTAssertNil(z.traceID)
        XCTAssertNil(z.spanID)
        XCTAssertNil(z.parentSpanID)
        XCTAssertEqual(z.correlationID, "0HMVD:00000001", "the request id still links the line")

        // `ActivityIdFormat.Hierarchical`: ids that are not W3C name no trace.
        let hierarchical = #"[{"SpanId":"|a1b2c3d4-1f2e.1.","TraceId":"a1b2c3d4-1f2e","ParentId":"|a1b2c3d4-1f2e."}]"#
        let hi = try XCTUnwrap(h.event(Self.line(scopes: hierarchical)))
        XCTAssertNil(hi.traceID)
        XCTAssertNil(hi.spanID)
        XCTAssertNil(hi.correlationID)

        // A root request (no caller): ParentId is sixteen zeros, which is no parent.
        let root = #"[{"SpanId":"2c9f7d3c1e5a4b6f","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","ParentId":"0000000000000000"}]"#
        let r = try XCTUnwrap(h.event(Self.line(scopes: root)))
        XCTAssertEqual(r.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(r.spanID, "2c9f7d3c1e5a4b6f")
        XCTAssertNil(r.parentSpanID)

        // A trace id of the wrong length, a number, or a span id that is not 16 hex.
        let odd = #"[{"TraceId":"4bf92f3577b34da6a3ce929d0e0e473","SpanId":"2c9f7d3c1e5a4b6","ParentId":12}]"#
        let o = try XCTUnwrap(h.event(Self.line(scopes: odd)))
        XCTAssertNil(o.traceID)
        XCTAssertNil(o.spanID)
        XCTAssertNil(o.parentSpanID)
    }

    func testOddScopesAreKeptAsAttributes() throws {
        var h = ConventionHarness()
        // `BeginScope("text")` scopes are strings; numbers, nulls and nested arrays are passed over.
        let mixed = #"["Order batch 7",42,null,true,[\#(Self.activity)],\#(Self.activity)]"#
        let m = try XCTUnwrap(h.event(Self.line(scopes: mixed)))
        XCTAssertEqual(m.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(m.attribute("Scopes"), mixed)

        let empty = try XCTUnwrap(h.event(Self.line(scopes: "[]")))
        XCTAssertNil(empty.traceID)
        XCTAssertEqual(empty.attribute("Scopes"), "[]")

        let text = try XCTUnwrap(h.event(Self.line(scopes: #""TraceId:4bf92f3577b34da6a3ce929d0e0e4736""#)))
        XCTAssertNil(text.traceID)
        XCTAssertEqual(text.attribute("Scopes"), "TraceId:4bf92f3577b34da6a3ce929d0e0e4736")

        // An object is not the formatter's shape: it flattens like any other object, ids unread.
        let object = try XCTUnwrap(h.event(Self.line(scopes: Self.activity)))
        XCTAssertNil(object.traceID)
        XCTAssertEqual(object.attribute("Scopes.TraceId"), "4bf92f3577b34da6a3ce929d0e0e4736")

        XCTAssertEqual(try XCTUnwrap(h.event(Self.line(scopes: "null"))).attribute("Scopes"), "null")
        XCTAssertEqual(try XCTUnwrap(h.event(Self.line(scopes: "12"))).attribute("Scopes"), "12")
        XCTAssertEqual(try XCTUnwrap(h.event(Self.line(scopes: "{}"))).attribute("Scopes"), "{}")

        // Nested one level down it is not .NET's array: kept, not read.
        let nested = try XCTUnwrap(h.event(#"{"Timestamp":"2024-05-01T12:00:00.123Z","log":{"Scopes":\#(Self.scopes)}}"#))
        XCTAssertNil(nested.traceID)
        XCTAssertEqual(nested.attribute("log.Scopes"), Self.scopes)

        // A second `Scopes` key does not replace the first one's ids.
        let twice = #"{"Timestamp":"2024-05-01T12:00:00.123Z","Scopes":\#(Self.scopes),"Scopes":[{"TraceId":"0af7651916cd43dd8448eb211c80319c"}]}"#
        let t = try XCTUnwrap(h.event(twice))
        XCTAssertEqual(t.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    func testEscapedKeysAndValues() throws {
        var h = ConventionHarness()
        let escaped = #"{"Timestamp":"2024-05-01T12:00:00.123Z","\u0053copes":[{"Trace\u0049d":"4BF92F3577B34DA6A3CE929D0E0E4736","Span\u0049d":"2c9f7d3c1e5a4b6f","ParentId":"00f067aa0ba902b\u0037"},{"RequestId":"0HMVD:00000001","RequestPath":"\/api\/orders?page=2"}]}"#
        let e = try XCTUnwrap(h.event(escaped))
        XCTAssertEqual(e.traceID, "4bf92f3577b34da6a3ce929d0e0e4736", "canonical lower case")
        XCTAssertEqual(e.spanID, "2c9f7d3c1e5a4b6f")
        XCTAssertEqual(e.parentSpanID, "00f067aa0ba902b7")
        XCTAssertEqual(e.correlationID, "0HMVD:00000001")
        XCTAssertEqual(e.route, "/api/orders", "query string dropped, as for `path`")
        XCTAssertNotNil(e.attribute("Scopes"))
    }

    func testStatePathIsTheLastRouteFallback() throws {
        var h = ConventionHarness()
        let state = #""State":{"Method":"GET","Path":"/api/orders/42","QueryString":"?expand=lines"}"#
        let alone = try XCTUnwrap(h.event(#"{"Timestamp":"2024-05-01T12:00:00.123Z",\#(state)}"#))
        XCTAssertEqual(alone.route, "/api/orders/42")
        XCTAssertNil(alone.attribute("State.Path"))
        XCTAssertEqual(alone.attribute("State.Method"), "GET")

        // An app's `{Path}` template argument must not beat the request's path from the scopes.
        let app = #""State":{"Message":"Reading /etc/orders.json","Path":"/etc/orders.json"},"#
        let scoped = try XCTUnwrap(h.event(Self.line(app)))
        XCTAssertEqual(scoped.route, "/api/orders")
        XCTAssertEqual(scoped.attribute("State.Path"), "/etc/orders.json")

        let routed = try XCTUnwrap(h.event(#"{"Timestamp":"2024-05-01T12:00:00.123Z","url":"/v2/x?y=1",\#(state)}"#))
        XCTAssertEqual(routed.route, "/v2/x")
        XCTAssertEqual(routed.attribute("State.Path"), "/api/orders/42")
    }
}
