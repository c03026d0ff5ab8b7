"""Samplers that measure a running job beside it, and the telemetry.csv they write."""
