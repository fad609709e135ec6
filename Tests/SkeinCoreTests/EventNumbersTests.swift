import SkeinCore
import XCTest

/// `Event` keeps its optional numbers bare with a bit each for "set": each reads back what was
/// stored, nil included, alone and beside the others, and `==` tells a 0 from a nil.
final class EventNumbersTests: XCTestCase {
    private typealias Field = (name: String, set: (inout Event) -> Void, clear: (inout Event) -> Void, isSet: (Event) -> Bool)

    private let fields: [Field] = [
        ("status", { $0.status = 0 }, { $0.status = nil }, { $0.status == 0 }),
        ("durationMS", { $0.durationMS = 1.5 }, { $0.durationMS = nil }, { $0.durationMS == 1.5 }),
        ("cpuMS", { $0.cpuMS = 0 }, { $0.cpuMS = nil }, { $0.cpuMS == 0 }),
        ("initMS", { $0.initMS = -2 }, { $0.initMS = nil }, { $0.initMS == -2 }),
        ("dbOpen", { $0.dbOpen = 7 }, { $0.dbOpen = nil }, { $0.dbOpen == 7 }),
        ("dbMax", { $0.dbMax = 100 }, { $0.dbMax = nil }, { $0.dbMax == 100 }),
        ("waitMS", { $0.waitMS = 0.25 }, { $0.waitMS = nil }, { $0.waitMS == 0.25 }),
    ]

    func testNumbersReadBackIndependently() {
        var e = Event(time: .zero)
        XCTAssertTrue(fields.allSatisfy { !$0.isSet(e) })
        for f in fields { f.set(&e) }
        for f in fields { XCTAssertTrue(f.isSet(e), f.name) }
        for f in fields {
            var g = e
            f.clear(&g)
            XCTAssertFalse(f.isSet(g), f.name)
            for other in fields where other.name != f.name { XCTAssertTrue(other.isSet(g), "\(other.name) after clearing \(f.name)") }
            XCTAssertNotEqual(g, e, "clearing \(f.name) changes the event")
            f.set(&g)
            XCTAssertEqual(g, e, "setting \(f.name) again restores it")
        }
        for f in fields {
            var g = Event(time: .zero)
            f.set(&g)
            for other in fields { XCTAssertEqual(other.isSet(g), other.name == f.name, "\(other.name) after setting \(f.name)") }
        }
        // Set and cleared again is the same as never set.
        for f in fields {
            var g = Event(time: .zero)
            f.set(&g)
            f.clear(&g)
            XCTAssertEqual(g, Event(time: .zero), "\(f.name) set and cleared")
        }
        // Through the initialiser as through the setters.
        let made = Event(time: .zero, status: 0, durationMS: 1.5, cpuMS: 0, initMS: -2, dbOpen: 7, dbMax: 100, waitMS: 0.25)
        XCTAssertEqual(made, e)
        XCTAssertNotEqual(Event(time: .zero, status: 0), Event(time: .zero), "0 is not nil")
    }
}
