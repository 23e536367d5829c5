"""Training and qualification records: a step may require a current one of its performer and verifier (ACC-09).

21 CFR 11.10(i): people who use the system have the training for their tasks; 11.10(g): the authority check
that blocks executing and signing when the record has expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ebr.domain.audit import to_utc_text
from ebr.domain.errors import InvalidInput, PermissionDenied

MAX_COURSE_LENGTH = 64


@dataclass(frozen=True)
class TrainingRecord:
    """One person's training on one course, valid from trained_at until (not including) valid_until."""

    id: int
    user_id: int
    course: str
    trained_at: datetime
    valid_until: datetime
    recorded_by: int | None
    recorded_at: datetime

    def is_current(self, now: datetime) -> bool:
        """True from the training until its expiry."""
        return self.trained_at <= now < self.valid_until


def normalise_course(raw: str) -> str:
    """A course id as steps name it (`ebr:training`): trimmed, non-empty, printable, at most 64 characters."""
    course = raw.strip()
    if not course:
        raise InvalidInput("A course id is required.")
    if len(course) > MAX_COURSE_LENGTH or not course.isprintable():
        raise InvalidInput(f"A course id has at most {MAX_COURSE_LENGTH} printable characters.")
    return course


def check_new_record(course: str, trained_at: datetime, valid_until: datetime, now: datetime) -> str:
    """Refuse a record that could not be true; returns the normalised course id."""
    cleaned = normalise_course(course)
    if trained_at.tzinfo is None or valid_until.tzinfo is None:
        raise InvalidInput("Training dates need their time zone (UTC).")
    if valid_until <= trained_at:
        raise InvalidInput("'Valid until' must be after the training date.")
    if trained_at > now:
        raise InvalidInput("A training cannot be recorded before it took place.")
    return cleaned


def in_force(records: Iterable[TrainingRecord], course: str) -> TrainingRecord | None:
    """The record in force for the course: the latest recorded one, so a correction supersedes a mistake."""
    matching = [r for r in records if r.course == course]
    return max(matching, key=lambda r: (r.recorded_at, r.id)) if matching else None


def check_trained(records: Iterable[TrainingRecord], course: str, now: datetime) -> TrainingRecord:
    """The current record for the course, or PermissionDenied saying why executing and signing are blocked."""
    record = in_force(records, course)
    if record is None:
        raise PermissionDenied(f"There is no training record for course {course!r}: executing and signing are blocked.")
    if now < record.trained_at:
        raise PermissionDenied(f"The training for course {course!r} starts only at {to_utc_text(record.trained_at)}.")
    if now >= record.valid_until:
        raise PermissionDenied(
            f"The {course!r} training expired at {to_utc_text(record.valid_until)}: "
            "executing and signing are blocked until it is renewed."
        )
    return record
