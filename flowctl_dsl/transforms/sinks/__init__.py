"""Sinks: Beam transforms that write records somewhere, built from a catalog spec's parameters."""
