"""
Exceptions shared across the core and modules.
"""


class ModuleDeclined(Exception):
    """Raised by IModule.load to decline loading (missing config, disabled)."""


def cannotListen(host, port, error) -> str:
    """
    The one line a listener that cannot bind is reported with:
    C{cannot listen on 127.0.0.1:5038: address already in use}.
    C{error} is a CannotListenError's socketError (an OSError) or any exception.
    """
    reason = getattr(error, "socketError", error)
    text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
    text = text.strip().rstrip(".") or "unknown error"
    text = text[0].lower() + text[1:]
    host = host or "0.0.0.0"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"cannot listen on {host}:{port}: {text}"


class ModuleError(Exception):
    """A module operation (load, unload, reload) could not be carried out."""


class DuplicateRegistration(ValueError):
    """A registry already holds a member with that name."""


class ChannelUnavailable(Exception):
    """
    A technology could not create a channel; C{cause} is a HangupCause.
    """

    def __init__(self, cause, message=""):
        super().__init__(message or str(cause))
        self.cause = cause


class ChannelHungUp(Exception):
    """A pending read or operation on a channel that has hung up."""


class ApplicationHangup(Exception):
    """An application asks the dialplan to stop and the channel to hang up."""

    def __init__(self, cause=None):
        super().__init__(cause)
        self.cause = cause


class ReadOnlyFunction(Exception):
    """A dialplan function that cannot be written."""


class ManagerError(Exception):
    """An action failed; the message goes out as 'Response: Error'."""


class CLIUsageError(Exception):
    """A console command was given wrong arguments."""
