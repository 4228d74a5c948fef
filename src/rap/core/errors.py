"""Errors that name where bad input is, so a person can find and fix it."""

from __future__ import annotations

from pathlib import Path


class RapError(Exception):
    """Base class: anything the CLI reports as a short message with a non-zero exit."""


class InputError(RapError):
    """Bad input: names the file, the line (1-based, header is line 1), the column and the value."""

    def __init__(
        self,
        file: str | Path,
        reason: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file = str(file)
        self.reason = reason
        self.line = line
        self.column = column
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: {self.reason}"


class ParamsError(RapError):
    """Bad parameters: names the params file and the key."""

    def __init__(self, file: str | Path, key: str, reason: str) -> None:
        self.file = str(file)
        self.key = key
        self.reason = reason
        super().__init__(f"{file}: {key}: {reason}")
