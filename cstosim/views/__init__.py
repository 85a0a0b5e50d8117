"""Figures drawn from saved results (matplotlib). The top layer below the command line."""
