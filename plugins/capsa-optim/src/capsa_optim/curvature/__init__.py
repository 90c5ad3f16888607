"""Diagonal curvature estimators.

They are registered with capsa through ``capsa_register_curvature_estimators``;
numpy is imported only when they compute.
"""
