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


class HyperParameterError(PinnsolveError, ValueError):
    """An optimizer's hyper-parameter is out of range (the ``torch.optim`` message, plus why).

    ``str(error)`` is ``"Invalid <label> value: <value> (<reason>)"``; ``name`` is the constructor
    argument (and the ``optimizer.<name>`` config key), so the command line can name the key.
    """

    def __init__(self, name: str, value, reason: str = "", label: str | None = None):
        self.name, self.value, self.reason = name, value, reason
        super().__init__(f"Invalid {label or name} value: {value}" + (f" ({reason})" if reason else ""))


class RunDirectoryError(PinnsolveError, OSError):
    """A run directory cannot be created, written or resumed from."""


class ProcessGroupError(PinnsolveError, RuntimeError):
    """Another process of a multi-process run failed, was killed or stopped answering."""
