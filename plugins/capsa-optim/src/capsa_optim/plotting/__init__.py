"""Panel plots of signals (matplotlib, imported only when a figure is drawn)."""
