"""The project's exception tree: one root, subclasses by what the caller does next."""


class UsageSyncError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(UsageSyncError):
    """A setting or environment variable is invalid; fix the value and restart."""


class DatabaseUnavailableError(ConfigurationError):
    """The database in DATABASE_URL cannot be used (driver missing or no connection)."""


class LockLostError(UsageSyncError):
    """The running sync no longer owns the unique lock, so it must stop writing."""

    def __init__(self, message: str, job_id: str | None = None):
        super().__init__(message)
        self.job_id = job_id


class JobInterruptedError(UsageSyncError):
    """The work horse received SIGTERM while a sync was running."""


class InputError(UsageSyncError):
    """An operator's input is invalid; the message names the value and the reason."""


class PanelError(UsageSyncError):
    """A panel request failed; `panel_id` names the panel.

    `retryable` is true when the same request may succeed later (timeouts,
    connection errors, 5xx); false for responses that will not change (bad
    credentials, a malformed body).
    """

    def __init__(self, message: str, panel_id: int | None = None, retryable: bool = True):
        super().__init__(message)
        self.panel_id = panel_id
        self.retryable = retryable


class PanelAuthError(PanelError):
    """The panel rejected the credentials."""

    def __init__(self, message: str, panel_id: int | None = None):
        super().__init__(message, panel_id=panel_id, retryable=False)


class PanelResponseError(PanelError):
    """The panel returned a body this client cannot use."""

    def __init__(self, message: str, panel_id: int | None = None):
        super().__init__(message, panel_id=panel_id, retryable=False)


class PanelUserNotFoundError(PanelError):
    """The panel has no user with the requested username or email."""

    def __init__(self, message: str, panel_id: int | None = None, username: str | None = None):
        super().__init__(message, panel_id=panel_id, retryable=False)
        self.username = username
