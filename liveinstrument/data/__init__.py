"""Training data: real one-shots, augmentation and procedural synthesis (DESIGN.md §3)."""
