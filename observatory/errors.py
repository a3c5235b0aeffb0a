"""One root for every error the project raises on purpose.

Errors that come from bad input (a file, a definition, an argument) derive from
`InputError`: the CLI prints their message and exits 2 without a traceback.
"""

from __future__ import annotations


class ObservatoryError(Exception):
    """Root of every error raised on purpose by observatory."""


class InputError(ObservatoryError):
    """The user gave something that cannot be used; the message says what, where and how to fix."""


class SourceFileError(InputError, ValueError):
    """A data file is missing, truncated or of the wrong format."""


class UnknownDatasetError(InputError, KeyError):
    """A dataset (store table) named by a definition or a command does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownIndicatorError(InputError, KeyError):
    """An indicator name that is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreMissingError(InputError, FileNotFoundError):
    """The store file does not exist yet."""


class IndicatorSpecError(InputError):
    """One or more indicator definitions are invalid; `problems` lists them all."""

    def __init__(self, problems: list[str], *, folder: str) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        lines = [f"{len(problems)} {noun} in {folder}"] + [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


class IndicatorComputeError(ObservatoryError):
    """An indicator's SQL or Python failed on the store."""


class LocatedError(InputError, ValueError):
    """A problem in a text someone wrote (SQL), with where it is: `where` names the text
    (a file, "your query"), `position` its "line L, column C" when known, and `reason`
    what is wrong and how to fix it."""

    def __init__(self, where: str, reason: str, *, position: str = "") -> None:
        self.where, self.reason, self.position = where, reason, position
        super().__init__(f"{where}{' ' + position if position else ''}: {reason}")
