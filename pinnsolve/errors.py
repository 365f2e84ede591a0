"""Errors that name the problem and the fix."""


class PinnsolveError(Exception):
    """Base class of pinnsolve's user-facing errors."""


class ResidualError(PinnsolveError, ValueError):
    """A residual function returned something unusable."""

    def __init__(self, condition: str, message: str):
        super().__init__(f"residual of condition '{condition}' {message}")
        self.condition = condition


class NonFiniteError(PinnsolveError, FloatingPointError):
    """A loss or residual became NaN or infinite."""


class ConfigError(PinnsolveError, ValueError):
    """A configuration value is invalid."""
