"""Signals: plot-oriented, unit-bearing time series derived from a trace (no heavy imports here)."""
