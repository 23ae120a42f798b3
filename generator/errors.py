"""Errors and warnings as values, each naming where it happened."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import UserError


class GenSourceError(UserError):
    """A user-facing failure of the generator (`where: message`): printed as one line,
    exit code non-zero, no traceback, as every `runtime.errors.UserError` is."""


class OverrideError(GenSourceError):
    """`overrides/<source>.yaml` (or its `webhooks:` section) cannot be applied."""


class SpecError(GenSourceError):
    """The spec cannot be used at all (malformed, not OpenAPI, refused $ref, ...)."""

    def __init__(self, file: str, pointer: str, message: str) -> None:
        where = f"{file}#{pointer}" if pointer else file
        super().__init__(message, where=where)
        self.file = file
        self.pointer = pointer


@dataclass(frozen=True, order=True)
class Warning:  # noqa: A001 - the plan format calls them warnings
    where: str
    message: str
    level: str = "warning"

    def to_json(self) -> dict:
        return {"level": self.level, "where": self.where, "message": self.message}


def escape_pointer_token(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: object) -> str:
    return "".join("/" + escape_pointer_token(str(t)) for t in tokens)
