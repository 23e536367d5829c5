"""The refusal of library content: every problem names the file (or BPMN element) and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable

from ebr.app.ports import LintProblem
from ebr.domain.errors import InvalidInput


class ContentInvalid(InvalidInput):
    """A form, equipment class or BPMN file that cannot be used as it is; `problems` lists every reason."""

    def __init__(self, problems: Iterable[LintProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems) or "invalid content")


def refuse(element_id: str, reason: str) -> ContentInvalid:
    """A refusal with a single problem."""
    return ContentInvalid([LintProblem(element_id, reason)])
