import SkeinCore
import SkeinEngine
import SkeinUI

/// `skein replay --snapshot WxH --at T`: the dashboard at one virtual time, as plain text.
public struct SnapshotJob {
    public var inputs: [String]
    public var decoderFormat: String?
    public var config: EngineConfig
    public var at: String?
    public var ascii: Bool

    public init(inputs: [String], decoderFormat: String?, config: EngineConfig, at: String?, ascii: Bool = false) {
        self.inputs = inputs; self.decoderFormat = decoderFormat; self.config = config; self.at = at; self.ascii = ascii
    }

    public func render(width: Int, height: Int) throws -> String {
        let feed = try ReplayFeed(paths: inputs, decoderFormat: decoderFormat, config: config, speed: .max)
        guard case .replay(let position) = feed.mode else { return "" }
        let target = try at.map { try parseTime($0, start: position.start) } ?? position.end ?? position.now
        // No pause: nothing asked for one, and the header would say PAUSED. No memory figure either
        // (0 omits it): the process's footprint is not the dashboard's.
        feed.play(to: target)
        let state = DashboardState(glyphs: ascii ? .ascii : .unicode)
        return DashboardView.renderText(snapshot: feed.snapshot(), state: state, width: width, height: height,
                                        mode: feed.mode, memoryBytes: 0)
    }
}
