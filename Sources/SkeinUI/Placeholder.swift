// SkeinUI: see DESIGN.md
