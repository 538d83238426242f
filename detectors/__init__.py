"""Load-signature features and mining detectors on xarray/numpy.

A library with a scikit-learn API; it imports no spatial library and never
imports :mod:`geoenergy`.
"""
