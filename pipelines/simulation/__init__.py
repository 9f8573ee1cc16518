"""Deterministic simulators of the city's sources, driven by one latent city."""
