"""The one exception type the data package raises for user mistakes."""


class DataError(ValueError):
    """A dataset name, path or file that cannot be used.

    Raised for an unknown dataset name, a missing or empty folder, a malformed
    IDX file, a dataset that cannot be found offline, and so on. The message is
    one line saying what was wrong and what is accepted, so the command line
    can print it as-is instead of a traceback.
    """


def describe(error: BaseException) -> str:
    """`"TypeName: first line of the message"`, to quote a cause in one line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
