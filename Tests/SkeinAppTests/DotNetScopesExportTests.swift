import Foundation
import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinApp

/// ASP.NET Core's JSON console lines carry their trace only inside `Scopes`: exported, the lines
/// of one request (from different loggers) are one trace.
final class DotNetScopesExportTests: XCTestCase {
    /// Hosting's start line with the whole scope chain, an HttpClient line inside the same request
    /// with only its activity's scope (no request id to link by: the trace id alone must), and a
    /// line of another request.
    static let lines = """
    {"Timestamp":"2026-11-23T10:00:01.101Z","EventId":1,"LogLevel":"Information","Category":"Microsoft.AspNetCore.Hosting.Diagnostics","Message":"Request starting HTTP/1.1 GET http://orders-api:8080/api/orders/42 - - -","State":{"Message":"Request starting HTTP/1.1 GET http://orders-api:8080/api/orders/42 - - -","Method":"GET","Path":"/api/orders/42"},"Scopes":[{"Message":"SpanId:2c9f7d3c1e5a4b6f, TraceId:4bf92f3577b34da6a3ce929d0e0e4736, ParentId:0000000000000000","SpanId":"2c9f7d3c1e5a4b6f","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","ParentId":"0000000000000000"},{"Message":"ConnectionId:0HN8C4J2A1B7Q","ConnectionId":"0HN8C4J2A1B7Q"},{"Message":"RequestPath:/api/orders/42 RequestId:0HN8C4J2A1B7Q:00000001","RequestId":"0HN8C4J2A1B7Q:00000001","RequestPath":"/api/orders/42"}]}
    {"Timestamp":"2026-11-23T10:00:01.140Z","EventId":101,"LogLevel":"Information","Category":"System.Net.Http.HttpClient.inventory.LogicalHandler","Message":"Start processing HTTP request GET http://inventory/api/stock/42","State":{"Message":"Start processing HTTP request GET http://inventory/api/stock/42","HttpMethod":"GET","Uri":"http://inventory/api/stock/42"},"Scopes":[{"Message":"SpanId:2c9f7d3c1e5a4b6f, TraceId:4bf92f3577b34da6a3ce929d0e0e4736, ParentId:0000000000000000","SpanId":"2c9f7d3c1e5a4b6f","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","ParentId":"0000000000000000"}]}
    {"Timestamp":"2026-11-23T10:00:01.150Z","EventId":1,"LogLevel":"Information","Category":"Microsoft.AspNetCore.Hosting.Diagnostics","Message":"Request starting HTTP/1.1 GET http://orders-api:8080/api/orders/7 - - -","Scopes":[{"Message":"SpanId:b7ad6b7169203331, TraceId:0af7651916cd43dd8448eb211c80319c, ParentId:0000000000000000","SpanId":"b7ad6b7169203331","TraceId":"0af7651916cd43dd8448eb211c80319c","ParentId":"0000000000000000"}]}

    """

    func testLinesOfOneTraceIDStitchAcrossCategories() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-dotnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("orders-api.json").path
        try Self.lines.write(toFile: path, atomically: true, encoding: .utf8)

        let snapshot = try ExportJob(inputs: [path]).analyse()
        XCTAssertEqual(snapshot.input.events, 3)
        XCTAssertEqual(snapshot.input.malformed, 0)
        XCTAssertEqual(snapshot.traces.count, 2)
        XCTAssertEqual(snapshot.traces.untracedEvents, 0)
        let orders = try XCTUnwrap(snapshot.recentTraces.first { $0.id == "4bf92f3577b34da6a3ce929d0e0e4736" })
        XCTAssertEqual(orders.eventCount, 2)
        XCTAssertTrue(orders.aliases.contains("0HN8C4J2A1B7Q:00000001"), "\(orders.aliases)")
        let other = try XCTUnwrap(snapshot.recentTraces.first { $0.id == "0af7651916cd43dd8448eb211c80319c" })
        XCTAssertEqual(other.eventCount, 1)
    }
}
