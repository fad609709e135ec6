import XCTest
@testable import SkeinUI
