import SkeinCore
import SkeinEngine

/// The dashboard's update cycle without a terminal: keys → state and effects, feed → snapshots,
/// state + snapshot → frames. The terminal loop adds only timing and I/O, so this is testable.
public final class DashboardSession {
    public private(set) var state: DashboardState
    public let model: DashboardModel
    public let feed: any DashboardFeed
    /// True when the next frame would differ from the last one drawn.
    public private(set) var needsFrame = true
    /// Data arrived since the model last took a snapshot.
    public private(set) var dataChanged = false
    public private(set) var frames = 0

    public init(feed: any DashboardFeed, glyphs: Glyphs = .unicode) {
        self.feed = feed
        state = DashboardState(glyphs: glyphs)
        model = DashboardModel(snapshot: feed.snapshot(), mode: feed.mode, memoryBytes: feed.memoryBytes)
    }

    public var isQuitting: Bool { state.quitting }

    /// Applies keys in order; effects for the feed go to it, detail requests are fetched.
    public func handle(_ keys: [Key]) {
        for key in keys {
            let wasFrozen = state.frozen
            let effects = reduce(&state, key, model: model)
            needsFrame = true
            for effect in effects { perform(effect) }
            // Unfreezing shows the newest data at once.
            if wasFrozen && !state.frozen { dataChanged = true }
            if state.quitting { return }
        }
    }

    /// Ingests for at most `budget` seconds; true if anything changed.
    @discardableResult
    public func pump(budget: Double) -> Bool {
        let changed = feed.pump(budget: budget)
        if changed {
            dataChanged = true
            if !state.frozen || model.mode.isReplay { needsFrame = true }
        }
        return changed
    }

    /// Draws a frame, first taking a fresh snapshot unless the view is frozen (Space).
    ///
    /// In a replay Space pauses the virtual clock instead, so seeking while paused still shows.
    public func frame(into buffer: inout ScreenBuffer) {
        if dataChanged && (!state.frozen || model.mode.isReplay) {
            let anchors = Anchor.take(state: state, model: model)
            model.update(snapshot: feed.snapshot())
            Anchor.restore(anchors, state: &state, model: model)
            model.memoryBytes = feed.memoryBytes
            if let d = state.detail { model.detail = feed.detail(traceID: d.traceID) }
            dataChanged = false
        }
        // The replay clock and speed show even while the view is frozen.
        model.mode = feed.mode
        DashboardView.render(model: model, state: &state, into: &buffer)
        needsFrame = false
        frames += 1
    }

    private func perform(_ effect: Effect) {
        switch effect {
        case .quit:
            break
        case .requestDetail(let id):
            model.detail = feed.detail(traceID: id)
        case .seek, .seekToStart, .seekToEnd, .setSpeed, .setPaused:
            feed.perform(effect)
            dataChanged = true
            needsFrame = true
        }
    }
}

/// Keeps each list's cursor on the same item when a new snapshot shifts the list (new traces
/// arrive at the top). A cursor on the first row stays there and follows the newest, like `tail -f`.
enum Anchor {
    struct Mark { var pane: Pane; var identity: String; var row: Int }

    /// How far from its old row an item is looked for: bounded, so a frame never scans a whole list.
    static let searchWindow = 5_000

    static func take(state: DashboardState, model: DashboardModel) -> [Mark] {
        var marks: [Mark] = []
        for pane in Pane.allCases {
            let row = state.position(pane).selected
            guard row > 0, let item = model.item(pane, row: row, state: state) else { continue }
            marks.append(Mark(pane: pane, identity: model.identity(pane, item: item), row: row))
        }
        return marks
    }

    static func restore(_ marks: [Mark], state: inout DashboardState, model: DashboardModel) {
        for m in marks {
            // Lists mostly grow at the top, so look below the old row first, then just above it.
            let below = m.row...(m.row + searchWindow)
            let above = stride(from: m.row - 1, through: max(0, m.row - 200), by: -1)
            var found: Int?
            for r in below {
                guard let item = model.item(m.pane, row: r, state: state) else {
                    if model.availableRows(m.pane, state: state, needed: r + 1) <= r { break } else { continue }
                }
                if model.identity(m.pane, item: item) == m.identity { found = r; break }
            }
            if found == nil {
                for r in above {
                    if let item = model.item(m.pane, row: r, state: state), model.identity(m.pane, item: item) == m.identity {
                        found = r; break
                    }
                }
            }
            guard let r = found, r != m.row else { continue }
            var p = state.position(m.pane)
            p.offset = max(0, p.offset + (r - m.row))
            p.selected = r
            state.lists[m.pane] = p
        }
    }
}
