"""Host-side benchmark harness: plans jobs, runs them on targets, stores and compares results."""

__version__ = "0.1.0"
