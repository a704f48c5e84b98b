"""Presentation: report frames for people and pipes — values for output, CSV/JSON/NDJSON/Markdown,
Rich tables, the terminal chart, and atomic file writes. Computes no number of its own."""
