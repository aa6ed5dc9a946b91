"""Estimator families: plain functions on arrays, dispatched by the registry."""
