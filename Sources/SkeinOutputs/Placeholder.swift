// SkeinOutputs: see DESIGN.md
