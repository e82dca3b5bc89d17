"""What every step of ``dataspace demo`` shares: how a step fails."""

from __future__ import annotations

from servicekit.errors import DataspaceError

__all__ = ["StepFailed", "expect"]


class StepFailed(DataspaceError, code="demo-step-failed"):
    """A step of the story did not behave as expected."""


def expect(condition: object, message: str) -> None:
    """Fail the step with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StepFailed(message)
