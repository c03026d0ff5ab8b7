"""Benchmark jobs that run inside the images (Python 3.6+, TF 1.15 to current 2.x).

This package never imports `harness`: the only things crossing the boundary are the
job parameters (JSON on the command line) and the event protocol (`events.py`).
"""

__version__ = "0.1.0"
