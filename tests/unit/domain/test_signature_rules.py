"""The site policy's person and role rules, on the real signatures/policy.toml (SIG-11)."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ebr.domain.accounts import Role, User
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import SignatureRefused, SitePolicy, check_bundle_roles, check_can_sign, parse_policy

POLICY_FILE = Path(__file__).resolve().parents[3] / "signatures" / "policy.toml"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def policy_text() -> str:
    return POLICY_FILE.read_text(encoding="utf-8")


def site_policy() -> SitePolicy:
    text = policy_text()
    return parse_policy(tomllib.loads(text), hashlib.sha256(text.encode()).hexdigest())


def person(uid: int, *roles: Role) -> User:
    return User(uid, f"user{uid}", f"User {uid}", frozenset(roles), True, False, NOW, 0, None, None, NOW)


@pytest.mark.req("SIG-11")
@pytest.mark.parametrize(
    ("object_type", "meaning", "earlier_meaning"),
    [
        ("batch_step", "verified", "performed"),
        ("batch_review", "reviewed", "performed"),
        ("procedure_version", "approved", "authored"),
        ("batch_release", "released", "performed"),
    ],
)
def test_the_second_signature_must_come_from_a_different_person(
    object_type: str, meaning: str, earlier_meaning: str
) -> None:
    policy = site_policy()
    both = person(1, Role.QA, Role.SUPERVISOR, Role.OPERATOR, Role.ENGINEER)
    with pytest.raises(SignatureRefused, match="different person"):
        check_can_sign(policy, object_type, meaning, both, [(earlier_meaning, both.id)])
    check_can_sign(policy, object_type, meaning, both, [(earlier_meaning, 2)])


@pytest.mark.req("SIG-11")
@pytest.mark.parametrize(
    ("object_type", "meaning", "allowed", "refused"),
    [
        ("batch_release", "released", Role.QA, Role.SUPERVISOR),
        ("batch_release", "rejected", Role.QA, Role.OPERATOR),
        ("procedure_version", "approved", Role.QA, Role.ENGINEER),
        ("batch_step", "verified", Role.SUPERVISOR, Role.OPERATOR),
    ],
)
def test_release_reject_approval_and_verification_need_the_policys_role(
    object_type: str, meaning: str, allowed: Role, refused: Role
) -> None:
    policy = site_policy()
    check_can_sign(policy, object_type, meaning, person(1, allowed), [])
    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        check_can_sign(policy, object_type, meaning, person(2, refused), [])


def test_no_policy_version_may_lower_the_governance_floor() -> None:
    widened = policy_text().replace(
        'object = "batch_release"\nmeaning = "released"\nroles = ["qa"]',
        'object = "batch_release"\nmeaning = "released"\nroles = ["qa", "supervisor"]',
    )
    assert widened != policy_text()
    with pytest.raises(InvalidInput, match="released"):
        parse_policy(tomllib.loads(widened), "x")


def test_a_procedure_bundle_can_narrow_but_never_widen_who_signs() -> None:
    policy = site_policy()
    check_bundle_roles(policy, {("batch_step", "performed"): frozenset({Role.OPERATOR})})
    with pytest.raises(InvalidInput, match="widen"):
        check_bundle_roles(policy, {("batch_step", "verified"): frozenset({Role.OPERATOR})})
    with pytest.raises(InvalidInput, match="site signature policy decides"):
        check_bundle_roles(policy, {("batch_release", "released"): frozenset({Role.QA})})
