"""Offline evaluation: metrics, curves, calibration, slices, robustness, comparison, errors, reports."""
