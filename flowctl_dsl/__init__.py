"""flowctl: compile Stellar data pipelines written in a small pipe language to Apache Beam."""

__version__ = "0.1.0"
