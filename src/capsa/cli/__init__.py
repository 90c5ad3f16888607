"""The ``capsa`` command line."""
