"""Training: configs, one fitting recipe per backend kind, calibration, thresholds, the guard."""
