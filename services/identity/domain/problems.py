"""A rule broken by one field, collected rather than raised so that every bad field is reported."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from servicekit.errors import InvalidArgument, ServiceError


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str
    message: str

    def to_error(self, error_class: type[ServiceError] = InvalidArgument) -> ServiceError:
        return error_class(self.message, code=self.code, field=self.field)

    @classmethod
    def from_error(cls, error: ServiceError) -> "Problem":
        return cls(error.field or "", error.code, error.message)


def raise_first(problems: Iterable[Problem], error_class: type[ServiceError] = InvalidArgument) -> None:
    for problem in problems:
        raise problem.to_error(error_class)
