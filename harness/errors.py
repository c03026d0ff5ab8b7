"""The errors the CLI reports as one line, each with its exit code (docs/errors.md)."""


class UsageError(Exception):
    """Bad input from the user: unknown names, malformed files, wrong types (exit 2)."""

    exit_code = 2


class EnvironmentFailure(UsageError):
    """The machine failed, not the input: the results disk full or read-only, the Docker engine lost
    mid-command (exit 3: worth retrying once the machine is fixed). A UsageError too, so every place
    that reports a UsageError in one line reports this one the same way."""

    exit_code = 3
