"""Beam building blocks: sources that emit ``RawLedger``, processors that turn ledgers into records."""
