"""Delivery guarantees: checkpoints, resume, retries, dead letters and graceful shutdown.

- :mod:`.store` — the :class:`~.store.Checkpoint` (cursor = ledger sequence) and its stores;
- :mod:`.segments` — where a run starts (resume) and how it is cut into segments;
- :mod:`.checkpoint` — the Beam stage that persists the cursor after the sinks committed;
- :mod:`.retry` — transient vs permanent errors, backoff with jitter;
- :mod:`.dead_letter` — dead-letter records and unreadable ledgers;
- :mod:`.shutdown` — SIGINT/SIGTERM handling;
- :mod:`.sources` — sources narrowed to a run window.

See ``docs/reliability.md``.
"""
