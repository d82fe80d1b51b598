"""Realistic demo data for trying the app and for benchmarks (`flask demo seed`)."""
