// SkeinSources: see DESIGN.md
