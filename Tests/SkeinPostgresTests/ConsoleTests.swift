import Foundation
import SkeinCore
import SkeinEngine
import SkeinSources
import XCTest
@testable import SkeinPostgres

/// Frames backend messages by hand for canned server streams.
private func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [UInt8(ascii: type.unicodeScalars.first!)]
    FrontendMessage.append(int32: Int32(body.count + 4), to: &out)
    return out + body
}
private func i32(_ v: Int32) -> [UInt8] { var o: [UInt8] = []; FrontendMessage.append(int32: v, to: &o); return o }
private func cstr(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

/// Decodes `bytes` handed over in chunks of `chunk` bytes, as a socket might.
private func decodeAll(_ bytes: [UInt8], chunk: Int) throws -> [BackendMessage] {
    var d = WireDecoder()
    var out: [BackendMessage] = []
    var i = 0
    while i < bytes.count {
        d.append(bytes[i..<min(bytes.count, i + chunk)])
        i += chunk
        while let m = try d.next() { out.append(m) }
    }
    return out
}

/// What a real PgBouncer 1.18 sent `psql` (user postgres, password skein-test-secret, auth_type
/// scram-sha-256) for `-c 'SHOW POOLS' -c 'SHOW NOSUCHTHING'`, captured through a TCP relay:
/// the SCRAM exchange, the login, the pools and an error.
private let capturedPgBouncer: [UInt8] = Array(Data(base64Encoded: [
        "UgAAABcAAAAKU0NSQU0tU0hBLTI1NgAAUgAAAFwAAAALcj1yTmNVSTNQVFAvZHUyaUViVTZYL0FySVhyN09IdUM2QkNQZEVIMEpodkpWb21abT",
        "Mscz1NTXN1QnNWMSsvVXE3V3dZUkgvdHlBPT0saT00MDk2UgAAADYAAAAMdj1LRWxUbTk0UG80QXM1OTA2L3hheEl2VVhoSVRxaTNHMzVNUHJj",
        "S0RhTkQ4PVIAAAAIAAAAAFMAAAAic2VydmVyX3ZlcnNpb24AMS4xOC4wL2JvdW5jZXIAUwAAABljbGllbnRfZW5jb2RpbmcAVVRGOABTAAAAGX",
        "NlcnZlcl9lbmNvZGluZwBVVEY4AFMAAAASRGF0ZVN0eWxlAElTTwBTAAAAEVRpbWVab25lAEdNVABTAAAAI3N0YW5kYXJkX2NvbmZvcm1pbmdf",
        "c3RyaW5ncwBvbgBTAAAAFGlzX3N1cGVydXNlcgBvbgBTAAAAGmFwcGxpY2F0aW9uX25hbWUAcHNxbABLAAAADKmcmu8fh88PWgAAAAVJVAAAAe",
        "EAEGRhdGFiYXNlAAAAAAAAAAAAABn///////8AAHVzZXIAAAAAAAAAAAAAGf///////wAAY2xfYWN0aXZlAAAAAAAAAAAAABcABP////8AAGNs",
        "X3dhaXRpbmcAAAAAAAAAAAAAFwAE/////wAAY2xfYWN0aXZlX2NhbmNlbF9yZXEAAAAAAAAAAAAAFwAE/////wAAY2xfd2FpdGluZ19jYW5jZW",
        "xfcmVxAAAAAAAAAAAAABcABP////8AAHN2X2FjdGl2ZQAAAAAAAAAAAAAXAAT/////AABzdl9hY3RpdmVfY2FuY2VsAAAAAAAAAAAAABcABP//",
        "//8AAHN2X2JlaW5nX2NhbmNlbGVkAAAAAAAAAAAAABcABP////8AAHN2X2lkbGUAAAAAAAAAAAAAFwAE/////wAAc3ZfdXNlZAAAAAAAAAAAAA",
        "AXAAT/////AABzdl90ZXN0ZWQAAAAAAAAAAAAAFwAE/////wAAc3ZfbG9naW4AAAAAAAAAAAAAFwAE/////wAAbWF4d2FpdAAAAAAAAAAAAAAX",
        "AAT/////AABtYXh3YWl0X3VzAAAAAAAAAAAAABcABP////8AAHBvb2xfbW9kZQAAAAAAAAAAAAAZ////////AABEAAAAbgAQAAAACXBnYm91bm",
        "NlcgAAAAlwZ2JvdW5jZXIAAAABMQAAAAEwAAAAATAAAAABMAAAAAEwAAAAATAAAAABMAAAAAEwAAAAATAAAAABMAAAAAEwAAAAATAAAAABMAAA",
        "AAlzdGF0ZW1lbnREAAAAbgAQAAAACHBvc3RncmVzAAAACHBvc3RncmVzAAAAATAAAAABMAAAAAEwAAAAATAAAAABMAAAAAEwAAAAATAAAAABMA",
        "AAAAEyAAAAATAAAAABMAAAAAEwAAAAATAAAAALdHJhbnNhY3Rpb25DAAAACVNIT1cAWgAAAAVJRQAAAEdTRVJST1IAQzA4UDAxAE1pbnZhbGlk",
        "IGNvbW1hbmQgJ1NIT1cgTk9TVUNIVEhJTkcnLCB1c2UgU0hPVyBIRUxQOwAAWgAAAAVJ",
].joined())!)
/// libpq's client nonce in that capture: the first 24 characters of the server's `r=`.
private let capturedClientNonce = "rNcUI3PTP/du2iEbU6X/ArIX"

final class WireTests: XCTestCase {
    func testACapturedPgBouncerStreamDecodesTheSameInAnyChunking() throws {
        let whole = try decodeAll(capturedPgBouncer, chunk: capturedPgBouncer.count)
        XCTAssertEqual(try decodeAll(capturedPgBouncer, chunk: 1), whole)
        XCTAssertEqual(try decodeAll(capturedPgBouncer, chunk: 7), whole)
        XCTAssertEqual(whole.first, .authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        XCTAssertTrue(whole.contains(.parameterStatus(name: "server_version", value: "1.18.0/bouncer")))
        XCTAssertEqual(whole.filter { if case .readyForQuery = $0 { return true } else { return false } }.count, 3)
        guard case .rowDescription(let columns)? = whole.first(where: { if case .rowDescription = $0 { return true } else { return false } }) else {
            return XCTFail("no RowDescription")
        }
        XCTAssertEqual(columns.count, 16)
        XCTAssertEqual(Array(columns.prefix(4)), ["database", "user", "cl_active", "cl_waiting"])
        XCTAssertTrue(columns.contains("maxwait_us"))
        guard case .error(let e)? = whole.first(where: { if case .error = $0 { return true } else { return false } }) else {
            return XCTFail("no ErrorResponse")
        }
        XCTAssertEqual(e.message, "invalid command 'SHOW NOSUCHTHING', use SHOW HELP;")
        XCTAssertEqual(e.severity, "ERROR")
    }

    func testOurSCRAMLoginProvesItselfToTheCapturedServer() throws {
        // With libpq's nonce our proof must equal psql's, and the server's signature must check out:
        // the whole SCRAM computation against a real server.
        var login = ConsoleLogin(user: "postgres", password: "skein-test-secret", database: "pgbouncer", nonce: capturedClientNonce)
        var sent: [FrontendMessage] = []
        var ready = false
        var results: [ResultSet] = []
        var reply = QueryReply()
        var replies: [Result<[ResultSet], ConsoleError>] = []
        for m in try decodeAll(capturedPgBouncer, chunk: 64) {
            if !ready {
                switch try login.receive(m) {
                case .send(let f): sent.append(f)
                case .wait: break
                case .ready: ready = true
                }
            } else if try reply.receive(m) {
                do { results = try reply.get(); replies.append(.success(results)) } catch { replies.append(.failure(error)) }
                reply = QueryReply()
            }
        }
        XCTAssertTrue(ready)
        XCTAssertEqual(login.parameters["application_name"], "psql")
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent.first, .saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=,r=\(capturedClientNonce)".utf8)))
        guard case .saslResponse(let final)? = sent.last else { return XCTFail("\(sent)") }
        XCTAssertTrue(String(decoding: final, as: UTF8.self).hasPrefix("c=biws,r=\(capturedClientNonce)"))

        XCTAssertEqual(replies.count, 2)
        let pools = try XCTUnwrap(try replies[0].get().first)
        XCTAssertEqual(pools.tag, "SHOW")
        XCTAssertEqual(pools.rows.count, 2)
        let sample = BouncerSample(pools: pools.records)
        XCTAssertEqual(sample.pools, [PoolRow(database: "postgres", user: "postgres", clientsActive: 0, clientsWaiting: 0,
                                              serversActive: 0, serversIdle: 0, serversUsed: 2, maxWaitMS: 0, poolMode: "transaction")],
                       "the console's own pseudo-pool is left out")
        XCTAssertThrowsError(try replies[1].get()) { e in
            XCTAssertEqual("\(e)", "invalid command 'SHOW NOSUCHTHING', use SHOW HELP;")
        }
    }

    func testAWrongPasswordFailsAgainstTheCapturedServerSignature() throws {
        var login = ConsoleLogin(user: "postgres", password: "not-the-password", database: "pgbouncer", nonce: capturedClientNonce)
        var failure: ConsoleError?
        for m in try decodeAll(capturedPgBouncer, chunk: 4096) {
            do { _ = try login.receive(m) } catch { failure = error; break }
        }
        guard case .scram(let why)? = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertTrue(why.contains("signature"), why)
    }

    func testTrustCleartextAndMD5Logins() throws {
        let ok = message("R", i32(0)), ready = message("Z", [UInt8(ascii: "I")])
        var trust = ConsoleLogin(user: "alice", password: nil, database: "pgbouncer")
        XCTAssertEqual(try trust.receive(try XCTUnwrap(decodeAll(ok, chunk: 99).first)), .wait)
        XCTAssertEqual(try trust.receive(try XCTUnwrap(decodeAll(ready, chunk: 99).first)), .ready)

        var clear = ConsoleLogin(user: "alice", password: "pw", database: "pgbouncer")
        XCTAssertEqual(try clear.receive(.authentication(.cleartextPassword)), .send(.password("pw")))
        XCTAssertEqual(FrontendMessage.password("pw").bytes, [UInt8(ascii: "p"), 0, 0, 0, 7, UInt8(ascii: "p"), UInt8(ascii: "w"), 0])

        // md5 + md5hex(md5hex(password + user) + salt), computed independently with Python's hashlib.
        let md5Request = try decodeAll(message("R", i32(5) + [1, 2, 3, 4]), chunk: 3)
        XCTAssertEqual(md5Request, [.authentication(.md5Password(salt: [1, 2, 3, 4]))])
        var md5 = ConsoleLogin(user: "alice", password: "secret", database: "pgbouncer")
        XCTAssertEqual(try md5.receive(md5Request[0]), .send(.password("md598a0412b9c31436fc53776e863350083")))

        var none = ConsoleLogin(user: "alice", password: nil, database: "pgbouncer")
        XCTAssertThrowsError(try none.receive(.authentication(.md5Password(salt: [0, 0, 0, 0])))) {
            XCTAssertEqual($0 as? ConsoleError, .passwordRequired)
        }
        var gss = ConsoleLogin(user: "alice", password: "x", database: "pgbouncer")
        XCTAssertThrowsError(try gss.receive(try decodeAll(message("R", i32(7)), chunk: 99)[0])) {
            XCTAssertEqual($0 as? ConsoleError, .unsupportedAuthentication("GSSAPI"))
        }
        var early = ConsoleLogin(user: "alice", password: "x", database: "pgbouncer")
        XCTAssertThrowsError(try early.receive(.readyForQuery(status: UInt8(ascii: "I"))))
    }

    func testAPoolerThatRefusesTheLoginIsAFullPoolerNotAnOutage() throws {
        // PgBouncer at max_client_conn answers the startup with this FATAL.
        let body = [UInt8(ascii: "S")] + cstr("FATAL") + [UInt8(ascii: "C")] + cstr("08P01")
            + [UInt8(ascii: "M")] + cstr("no more connections allowed (max_client_conn)") + [0]
        let m = try XCTUnwrap(decodeAll(message("E", body), chunk: 5).first)
        var login = ConsoleLogin(user: "alice", password: "x", database: "pgbouncer")
        XCTAssertThrowsError(try login.receive(m)) { e in
            XCTAssertEqual(PostgresSampler.refusal(e), .tooManyClients)
            XCTAssertEqual(PostgresSampler.reason(e), "no more connections allowed (max_client_conn)")
        }
        let wrong = ServerNotice(fields: [UInt8(ascii: "C"): "28P01", UInt8(ascii: "M"): "password authentication failed"])
        XCTAssertNil(PostgresSampler.refusal(ConsoleError.server(wrong)))
    }

    func testBrokenStreamsAreErrorsNotCrashes() {
        var d = WireDecoder()
        d.append([UInt8(ascii: "Z"), 0, 0, 0, 2])
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? WireError, .badLength(type: UInt8(ascii: "Z"), length: 2)) }
        // A DataRow whose column claims more bytes than the message holds.
        XCTAssertThrowsError(try decodeAll(message("D", [0, 1] + i32(10) + [1, 2]), chunk: 100)) {
            XCTAssertEqual($0 as? WireError, .truncated(type: UInt8(ascii: "D")))
        }
        XCTAssertThrowsError(try decodeAll(message("C", Array("SHOW".utf8)), chunk: 100)) {
            XCTAssertEqual($0 as? WireError, .badText(type: UInt8(ascii: "C")))
        }
        XCTAssertEqual(try decodeAll(message("Y", [1, 2, 3]), chunk: 2), [.other(type: UInt8(ascii: "Y"))])
        XCTAssertEqual(try decodeAll(message("D", [0, 2] + i32(-1) + i32(1) + [UInt8(ascii: "7")]), chunk: 100), [.dataRow([nil, "7"])])
        var partial = WireDecoder()
        partial.append([UInt8(ascii: "Z"), 0, 0])
        XCTAssertNil(try partial.next(), "half a header waits for more")
        var reply = QueryReply()
        XCTAssertThrowsError(try reply.receive(.dataRow(["x"])), "a DataRow without its RowDescription")
    }

    func testFrontendMessagesOnTheWire() {
        let startup = ConsoleLogin(user: "u", password: nil, database: "d").startup.bytes
        let body = [0, 3, 0, 0] + cstr("user") + cstr("u") + cstr("database") + cstr("d") + cstr("application_name") + cstr("skein") + [0]
        XCTAssertEqual(startup, i32(Int32(body.count + 4)) + body)
        XCTAssertEqual(FrontendMessage.query("SHOW POOLS").bytes, [UInt8(ascii: "Q")] + i32(15) + cstr("SHOW POOLS"))
        XCTAssertEqual(FrontendMessage.terminate.bytes, [UInt8(ascii: "X"), 0, 0, 0, 4])
        XCTAssertEqual(FrontendMessage.saslInitialResponse(mechanism: "M", data: [9]).bytes,
                       [UInt8(ascii: "p")] + i32(4 + 2 + 4 + 1) + cstr("M") + i32(1) + [9])
    }
}

final class PasswordHashTests: XCTestCase {
    private func hex(_ b: [UInt8]) -> String { PasswordHash.hex(b) }

    func testDigestsMatchTheirPublishedVectors() {
        XCTAssertEqual(hex(PasswordHash.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(PasswordHash.sha256([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(PasswordHash.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // RFC 4231 test case 2.
        XCTAssertEqual(hex(PasswordHash.hmacSHA256(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // RFC 4231 test case 6: a key longer than the block.
        XCTAssertEqual(hex(PasswordHash.hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131),
                                                   Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertEqual(hex(PasswordHash.pbkdf2SHA256(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1)),
                       "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        XCTAssertEqual(hex(PasswordHash.pbkdf2SHA256(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096)),
                       "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
        XCTAssertEqual(hex(PasswordHash.md5([])), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hex(PasswordHash.md5(Array("The quick brown fox jumps over the lazy dog".utf8))), "9e107d9d372bb6826bd81d3542a419d6")
        // PostgreSQL's stored form for user postgres, password postgres.
        XCTAssertEqual(hex(PasswordHash.md5(Array("postgrespostgres".utf8))), "3175bce1d3201d16594cebf9d7eb3f9d")
    }

    func testSCRAMFollowsRFC7677() throws {
        var s = ScramSHA256(password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO", user: "user")
        XCTAssertEqual(String(decoding: s.clientFirstMessage, as: UTF8.self), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try s.clientFinal(serverFirst: Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))
        XCTAssertEqual(String(decoding: final, as: UTF8.self),
                       "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        XCTAssertFalse(s.verified)
        var forged = s
        XCTAssertThrowsError(try forged.verify(serverFinal: Array("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
        try s.verify(serverFinal: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        XCTAssertTrue(s.verified)

        var t = ScramSHA256(password: "pencil", clientNonce: "abc")
        XCTAssertThrowsError(try t.clientFinal(serverFirst: Array("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096".utf8)), "a nonce that does not extend ours")
        XCTAssertThrowsError(try t.clientFinal(serverFirst: Array("r=abc123,s=QSXCR+Q6sek8bf92,i=0".utf8)))
        XCTAssertThrowsError(try t.clientFinal(serverFirst: Array("e=invalid-proof".utf8)))
        XCTAssertEqual(ScramSHA256.randomNonce().count, 24)
        XCTAssertNotEqual(ScramSHA256.randomNonce(), ScramSHA256.randomNonce())
    }
}
