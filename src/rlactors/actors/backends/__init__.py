"""Backends: the only modules that touch multiprocessing (``process``) or Ray (``ray``)."""
