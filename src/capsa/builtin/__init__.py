"""The core's own plugins, discovered through the ``capsa`` entry-point group.

They register exactly like third-party plugins do; the core never imports
them directly.
"""
