"""Drift detectors, their operating characteristics, and monitors."""
