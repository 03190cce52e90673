"""Pipeline settings: ``on_error``, ``checkpoint`` and ``retry`` — typed, with their defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SETTING_NAMES = ("on_error", "checkpoint", "retry")
DEFAULT_CHECKPOINT_DIR = ".flowctl/state"


class CheckpointConfig(BaseModel):
    """Where the ledger cursor is persisted, and how often (in ledgers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store: Literal["file", "postgres", "gs", "s3"] = "file"
    location: str | SecretStr = DEFAULT_CHECKPOINT_DIR
    every: int = Field(1000, ge=1, description="Persist the cursor every N committed ledgers.")
    enabled: bool = True


class RetryConfig(BaseModel):
    """Bounded exponential backoff with jitter for transient source and sink errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(5, ge=1, le=100)
    backoff_seconds: float = Field(1.0, ge=0, le=3600)
    max_backoff_seconds: float = Field(60.0, ge=0, le=86400)


class DeadLetterOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_error_ratio: float | None = Field(None, gt=0, le=1)
