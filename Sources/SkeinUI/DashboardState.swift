import SkeinCore
import SkeinEngine

/// A key press, as the backend decodes it.
public enum Key: Sendable, Equatable {
    case char(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace
    /// The terminal changed size; the next frame lays out again.
    case resize
}

/// What a key means in the current state (bubbletea's messages); `reduce` applies it.
public enum Action: Sendable, Equatable {
    case quit
    case focusNext, focusPrevious
    case move(Int)
    case pageUp, pageDown, top, bottom
    case open, back
    case beginFilter, filterType(Character), filterErase, filterApply, filterCancel
    case togglePause
    case nextError, previousError
    case nextRelated, previousRelated
    case togglePane(Pane)
    case cycleSort, reverseSort, toggleGroup
    case toggleHelp
    case faster, slower
    case seek(Double)
    case seekStart, seekEnd
    case relayout
}

/// A list's cursor and the first row on screen.
public struct ListPosition: Sendable, Equatable {
    public var selected: Int = 0
    public var offset: Int = 0
    public init(selected: Int = 0, offset: Int = 0) { self.selected = selected; self.offset = offset }
}

/// The trace detail view's state: which trace, and the cursor in its log lines.
public struct DetailState: Sendable, Equatable {
    public var traceID: String
    public var cursor: Int = 0
    public var offset: Int = 0
    public init(traceID: String) { self.traceID = traceID }
}

/// Everything the dashboard remembers between frames, and nothing about the data.
///
/// A value: keys change it through `reduce`, which never draws; the view reads it.
public struct DashboardState: Sendable, Equatable {
    public var focus: Pane = .traces
    /// Panes shown; `1`–`5` toggle them. At least one stays.
    public var visible: Set<Pane> = Set(Pane.allCases)
    public var lists: [Pane: ListPosition] = [:]
    /// Applied filters per pane (a regex; leading `!` inverts).
    public var filters: [Pane: String] = [:]
    /// The filter being typed after `/`; nil when not editing.
    public var filterDraft: String?
    /// Space: the view keeps showing the frozen snapshot while ingest goes on.
    public var frozen: Bool = false
    public var showHelp: Bool = false
    public var detail: DetailState?
    public var instanceSort: InstanceSort = .activity
    public var sortDescending: Bool = false
    public var groupByDeploy: Bool = false
    public var glyphs: Glyphs = .unicode
    /// Rows per page of each list at the last render (for PgUp/PgDn); the view records them.
    public var pageSize: [Pane: Int] = [:]
    /// Lines per page of the detail view's log at the last render.
    public var detailPageSize: Int = 10
    /// A one-line note for the footer ("no more error traces"); cleared by the next key.
    public var message: String?
    public var quitting: Bool = false

    public init(glyphs: Glyphs = .unicode) { self.glyphs = glyphs }

    public func filter(_ pane: Pane) -> String { filters[pane] ?? "" }
    public func position(_ pane: Pane) -> ListPosition { lists[pane] ?? ListPosition() }

    /// Visible panes in focus order.
    public var focusOrder: [Pane] { Pane.allCases.filter { visible.contains($0) } }
}

/// Keys to actions: k9s/btop conventions. Pure: depends only on the state and the mode.
///
/// `g`/`G`: in a replay they seek to the start/end of the recording, except while the traces list
/// has focus, where (as everywhere in live mode) they jump to the first/last row. Home/End always
/// move within the list, so both meanings stay reachable.
public enum Keymap {
    public static func action(for key: Key, state: DashboardState, mode: FeedMode) -> Action? {
        if state.filterDraft != nil {
            switch key {
            case .enter: return .filterApply
            case .escape: return .filterCancel
            case .backspace: return .filterErase
            case .char(let c): return .filterType(c)
            case .resize: return .relayout
            default: return nil
            }
        }
        if state.showHelp {
            switch key {
            case .char("q"): return .quit
            case .resize: return .relayout
            default: return .toggleHelp
            }
        }
        let replay = mode.isReplay
        switch key {
        case .char("q"): return .quit
        case .char("?"): return .toggleHelp
        case .tab: return .focusNext
        case .backTab: return .focusPrevious
        case .char("j"), .down: return .move(1)
        case .char("k"), .up: return .move(-1)
        case .pageDown: return .pageDown
        case .pageUp: return .pageUp
        case .home: return .top
        case .end: return .bottom
        case .char("g"):
            return replay && state.detail == nil && state.focus != .traces ? .seekStart : .top
        case .char("G"):
            return replay && state.detail == nil && state.focus != .traces ? .seekEnd : .bottom
        case .enter: return .open
        case .escape: return .back
        case .char("/"): return .beginFilter
        case .char(" "): return .togglePause
        case .char("e"): return .nextError
        case .char("E"): return .previousError
        case .char("o"): return .nextRelated
        case .char("O"): return .previousRelated
        case .char("s"): return .cycleSort
        case .char("S"): return .reverseSort
        case .char("d"): return .toggleGroup
        case .char(let c) where ("1"..."5").contains(c):
            return Pane(rawValue: Int(String(c))!).map { .togglePane($0) }
        case .char("+"), .char("="): return replay ? .faster : nil
        case .char("-"), .char("_"): return replay ? .slower : nil
        case .left: return replay ? .seek(-10) : nil
        case .right: return replay ? .seek(10) : nil
        case .char("["): return replay ? .seek(-60) : nil
        case .char("]"): return replay ? .seek(60) : nil
        case .resize: return .relayout
        default: return nil
        }
    }
}

/// Applies a key to the state: no drawing, no I/O; what the world must do comes back as effects.
@discardableResult
public func reduce(_ state: inout DashboardState, _ key: Key, model: DashboardModel) -> [Effect] {
    guard let action = Keymap.action(for: key, state: state, mode: model.mode) else { return [] }
    return reduce(&state, action, model: model)
}

/// Applies an action to the state (see `reduce(_:_:model:)` for keys).
@discardableResult
public func reduce(_ state: inout DashboardState, _ action: Action, model: DashboardModel) -> [Effect] {
    if action != .relayout { state.message = nil }
    switch action {
    case .quit:
        state.quitting = true
        return [.quit]
    case .relayout:
        return []
    case .toggleHelp:
        state.showHelp.toggle()
    case .focusNext, .focusPrevious:
        guard state.detail == nil else { return [] }
        let order = state.focusOrder
        guard !order.isEmpty else { return [] }
        let i = order.firstIndex(of: state.focus) ?? 0
        let step = action == .focusNext ? 1 : order.count - 1
        state.focus = order[(i + step) % order.count]
    case .move(let n):
        move(&state, model: model) { $0 + n }
    case .pageDown:
        let page = max(1, state.detail != nil ? state.detailPageSize : state.pageSize[state.focus] ?? 10)
        move(&state, model: model) { $0 + page }
    case .pageUp:
        let page = max(1, state.detail != nil ? state.detailPageSize : state.pageSize[state.focus] ?? 10)
        move(&state, model: model) { $0 - page }
    case .top:
        move(&state, model: model) { _ in 0 }
    case .bottom:
        move(&state, model: model) { _ in Int.max / 2 }
    case .open:
        guard state.detail == nil else { return [] }
        let pane = state.focus
        let row = state.position(pane).selected
        guard let item = model.item(pane, row: row, state: state), let id = model.traceID(pane, item: item) else {
            state.message = "no trace behind this row"
            return []
        }
        state.detail = DetailState(traceID: id)
        return [.requestDetail(traceID: id)]
    case .back:
        if state.detail != nil {
            state.detail = nil
        } else if !state.filter(state.focus).isEmpty {
            state.filters[state.focus] = nil
            state.lists[state.focus] = ListPosition()
        }
    case .beginFilter:
        guard state.detail == nil else { return [] }
        state.filterDraft = state.filter(state.focus)
    case .filterType(let c):
        state.filterDraft?.append(c)
    case .filterErase:
        if state.filterDraft?.isEmpty == false { state.filterDraft?.removeLast() }
    case .filterApply:
        let draft = state.filterDraft ?? ""
        state.filterDraft = nil
        state.filters[state.focus] = draft.isEmpty ? nil : draft
        state.lists[state.focus] = ListPosition()
        if let err = RowMatcher(draft).error { state.message = err }
    case .filterCancel:
        state.filterDraft = nil
    case .togglePause:
        state.frozen.toggle()
        if model.mode.isReplay { return [.setPaused(state.frozen)] }
    case .nextError, .previousError:
        jumpToError(&state, forward: action == .nextError, model: model)
    case .nextRelated, .previousRelated:
        jumpToRelated(&state, forward: action == .nextRelated, model: model)
    case .togglePane(let pane):
        guard state.detail == nil else { return [] }
        if state.visible.contains(pane) {
            guard state.visible.count > 1 else { return [] }
            state.visible.remove(pane)
            if state.focus == pane { state.focus = state.focusOrder.first ?? .traces }
        } else {
            state.visible.insert(pane)
            state.focus = pane
        }
    case .cycleSort:
        state.instanceSort = state.instanceSort.next
        state.message = "instances sorted by \(state.instanceSort.rawValue)"
    case .reverseSort:
        state.sortDescending.toggle()
    case .toggleGroup:
        state.groupByDeploy.toggle()
        state.lists[.instances] = ListPosition()
    case .faster, .slower:
        guard let pos = model.mode.replay else { return [] }
        return [.setSpeed(action == .faster ? pos.speed.faster : pos.speed.slower)]
    case .seek(let s):
        return model.mode.isReplay ? [.seek(bySeconds: s)] : []
    case .seekStart:
        return model.mode.isReplay ? [.seekToStart] : []
    case .seekEnd:
        return model.mode.isReplay ? [.seekToEnd] : []
    }
    return []
}

/// Moves the cursor of the focused list (or the detail view's log) and clamps it.
private func move(_ state: inout DashboardState, model: DashboardModel, _ to: (Int) -> Int) {
    if var d = state.detail {
        let count = model.detail?.lines.count ?? 0
        d.cursor = clamp(to(d.cursor), count)
        state.detail = d
        return
    }
    let pane = state.focus
    var p = state.position(pane)
    let target = to(p.selected)
    p.selected = clamp(target, model.availableRows(pane, state: state, needed: max(0, target) + 1))
    state.lists[pane] = p
}

private func clamp(_ v: Int, _ count: Int) -> Int { max(0, min(v, count - 1)) }

/// `e`/`E`: the next/previous error trace in the traces list (focusing it), or error line in detail.
private func jumpToError(_ state: inout DashboardState, forward: Bool, model: DashboardModel) {
    if var d = state.detail {
        guard let lines = model.detail?.lines, !lines.isEmpty else { return }
        if let i = scan(from: d.cursor, has: { $0 < lines.count }, forward: forward, where: { lines[$0].level >= .error }) {
            d.cursor = i
            state.detail = d
        } else {
            state.message = forward ? "no later error line" : "no earlier error line"
        }
        return
    }
    guard state.visible.contains(.traces) else { return }
    let rows = model.rows(.traces, filter: state.filter(.traces))
    let traces = model.snapshot.recentTraces
    let start = state.focus == .traces ? state.position(.traces).selected : (forward ? -1 : rows.completeAll())
    // Newest first: "next" goes down the list, towards older traces.
    if let r = scan(from: start, has: rows.has, forward: forward, where: { traces[rows[$0]].isError }) {
        state.focus = .traces
        var p = state.position(.traces)
        p.selected = r
        state.lists[.traces] = p
    } else {
        state.message = "no more error traces"
    }
}

/// `o`/`O`: in the detail view the next/previous line of the same service (the same hop's
/// lines interleave with others); in a list the next/previous row sharing the selected row's route
/// (traces) or service (instances, cold starts, connections) or kind (insights).
private func jumpToRelated(_ state: inout DashboardState, forward: Bool, model: DashboardModel) {
    if var d = state.detail {
        guard let lines = model.detail?.lines, !lines.isEmpty else { return }
        let cur = clamp(d.cursor, lines.count)
        let service = lines[cur].service
        if let i = scan(from: cur, has: { $0 < lines.count }, forward: forward, where: { lines[$0].service == service }) {
            d.cursor = i
            state.detail = d
        } else {
            state.message = "no other line of this hop"
        }
        return
    }
    let pane = state.focus
    let sel = state.position(pane).selected
    guard let item = model.item(pane, row: sel, state: state), let key = model.relatedKey(pane, item: item) else { return }
    let found = scan(from: sel, has: { model.availableRows(pane, state: state, needed: $0 + 1) > $0 }, forward: forward) { r in
        guard let i = model.item(pane, row: r, state: state) else { return false }
        return model.relatedKey(pane, item: i) == key
    }
    if let r = found {
        var p = state.position(pane)
        p.selected = r
        state.lists[pane] = p
    } else {
        state.message = "no other row like this one"
    }
}

/// The first row after (or before) `start` that passes `test`; `has` says whether a row exists
/// (so a lazy filter scans only as far as the search goes).
private func scan(from start: Int, has: (Int) -> Bool, forward: Bool, where test: (Int) -> Bool) -> Int? {
    if forward {
        var i = start + 1
        while has(i) { if test(i) { return i }; i += 1 }
    } else {
        var i = start - 1
        while i >= 0 { if has(i) && test(i) { return i }; i -= 1 }
    }
    return nil
}
