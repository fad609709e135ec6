// SkeinTerminal: see DESIGN.md
