"""Thin adapters from JAX or torch callables to the numpy callables the estimators take.

Each module imports its library only when an adapter is called; neither is
a dependency of capsa-optim.
"""
