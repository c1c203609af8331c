"""Queueing: analytic formulas (and, later, the per-request kernel and capacity planning)."""
