"""Renderers: pure functions from stored results or a Comparison to tables and files."""
