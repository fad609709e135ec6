import NIOCore
import XCTest
@testable import SkeinCollector

/// Vercel log drains: the body's HMAC-SHA1 signature and the endpoint ownership check.
final class VercelTests: XCTestCase {
    let drain = Array("""
    [{"id":"1","message":"hello","timestamp":1795428000000,"type":"stdout","source":"lambda","projectId":"p","deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"},
     {"id":"2","message":"world","timestamp":1795428000100,"type":"stdout","source":"lambda","projectId":"p","deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"}]
    """.utf8)

    func sign(_ body: [UInt8], _ secret: String) -> String {
        body.withUnsafeBytes { VercelSignature(secret: secret).sign($0) }
    }

    func testHMACSHA1IsRFC2202s() {
        // RFC 2202, HMAC-SHA1 test case 2.
        XCTAssertEqual(sign(Array("what do ya want for nothing?".utf8), "Jefe"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        XCTAssertNil(VercelSignature.unhex("abc"))
        XCTAssertNil(VercelSignature.unhex("zz"))
        XCTAssertEqual(VercelSignature.unhex("0aFf"), [0x0a, 0xff])
    }

    func testASignedDrainNeedsNoTokenAndABadSignatureIs403() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        config.vercelSecret = "drain-secret"
        let c = try Connection(config: config)
        let json = [("Content-Type", "application/json")]
        let good = sign(drain, "drain-secret")
        XCTAssertEqual(try c.send("/ingest", headers: json + [("x-vercel-signature", good)], body: drain).status, 200)
        XCTAssertEqual(try c.send("/ingest", headers: json + [("x-vercel-signature", good.uppercased())], body: drain).status, 200)
        XCTAssertEqual(c.drain().events.map(\.message), ["hello", "world", "hello", "world"])

        var tampered = drain
        tampered[tampered.firstIndex(of: UInt8(ascii: "h"))!] = UInt8(ascii: "j")
        let bad = try c.send("/ingest", headers: json + [("x-vercel-signature", good)], body: tampered)
        XCTAssertEqual(bad.status, 403)
        XCTAssertTrue(bad.text.contains("invalid_signature"), bad.text)
        XCTAssertEqual(try c.send("/ingest", headers: json + [("x-vercel-signature", sign(drain, "other"))], body: drain).status, 403)
        XCTAssertEqual(try c.send("/ingest", headers: json + [("x-vercel-signature", "not hex")], body: drain).status, 403)
        XCTAssertEqual(c.drain().events.count, 0)

        // Unsigned: the bearer token rules, as for any client.
        XCTAssertEqual(try c.send("/ingest", headers: json, body: drain).status, 401)
        XCTAssertEqual(try c.send("/ingest", headers: json + [("Authorization", "Bearer s3cret")], body: drain).status, 200)
        // A signature does not open the OTLP endpoints.
        XCTAssertEqual(try c.send("/v1/logs", headers: json + [("x-vercel-signature", sign(Array("{}".utf8), "drain-secret"))],
                                  body: Array("{}".utf8)).status, 401)
        XCTAssertEqual(c.state.metrics.totals.events, 6)
    }

    func testWithoutASecretASignatureIsNoCredential() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        let c = try Connection(config: config)
        let a = try c.send("/ingest", headers: [("x-vercel-signature", sign(drain, "drain-secret"))], body: drain)
        XCTAssertEqual(a.status, 401)
    }

    func testOwnershipCheckAnswersGETIngestWithTheCode() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        config.vercelVerify = "vc-verify-1234"
        let c = try Connection(config: config)
        let check = try c.get("/ingest")
        XCTAssertEqual(check.status, 200)
        XCTAssertEqual(check.headers["x-vercel-verify"], "vc-verify-1234")
        let post = try c.send("/ingest", headers: [("Authorization", "Bearer s3cret")], body: drain)
        XCTAssertEqual(post.status, 200)
        XCTAssertEqual(post.headers["x-vercel-verify"], "vc-verify-1234")
        XCTAssertNil(try c.get("/healthz").headers["x-vercel-verify"])

        let plain = try Connection()
        XCTAssertEqual(try plain.get("/ingest").status, 405)
    }
}
