// SkeinSim: see DESIGN.md
