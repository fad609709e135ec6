import XCTest
@testable import SkeinDecoders

/// A request URL becomes the route's path: scheme, host, query and fragment go.
final class PathOnlyTests: XCTestCase {
    func testURLsBecomePaths() {
        let cases: [(String, String)] = [
            ("https://shop.example.com/api/cart?id=7", "/api/cart"),
            ("https://shop.example.com/api/feed#top", "/api/feed"),
            ("https://shop.example.com", "/"),
            ("https://shop.example.com?x=1", "/"),
            ("http://127.0.0.1:8787/a/b/c", "/a/b/c"),
            ("/already/a/path?q=1", "/already/a/path"),
            ("/plain", "/plain"),
            ("", ""),
            ("https://h.example/caf\u{e9}/\u{1F600}?q", "/caf\u{e9}/\u{1F600}"),
            ("wss://chat.example/socket.io/?EIO=4", "/socket.io/"),
        ]
        for (url, path) in cases {
            XCTAssertEqual(EmbeddedJSON.pathOnly(url), path, url)
        }
    }
}
