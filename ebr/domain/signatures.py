"""Electronic signature rules (21 CFR 11.50, 11.70, 11.100, 11.200): meanings, who may sign what,
the canonical content a signature covers, and the continuous-session rule."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ebr.domain.accounts import Role, User
from ebr.domain.audit import to_utc_text
from ebr.domain.errors import DomainError, InvalidInput


class SignatureRefused(DomainError):
    """The signature may not be given: wrong person, role, meaning, credentials or content."""


class ContentChanged(SignatureRefused):
    """The content changed between display and signing: review it again (SIG-15)."""


# Objects whose approval is site-wide governance: a procedure bundle may never widen who signs them.
GOVERNED_OBJECTS = frozenset({"procedure_version", "batch_release", "deviation", "batch_hold", "signature_policy"})


@dataclass(frozen=True)
class Meaning:
    """A controlled signature meaning and the words printed with it (11.50(a)(3))."""

    key: str
    text: str


@dataclass(frozen=True)
class SignatureRule:
    """Who may sign a meaning on an object type, and whose signatures on the same object they must differ from."""

    object_type: str
    meaning: str
    roles: frozenset[Role]
    differs_from: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SitePolicy:
    """The site signature policy: a controlled document with its own signed lifecycle."""

    version: str
    title: str
    meanings: Mapping[str, Meaning]
    rules: Sequence[SignatureRule]
    content_hash: str

    def meaning(self, key: str) -> Meaning:
        """The meaning, or a refusal: meanings are never free text (SIG-10)."""
        if key not in self.meanings:
            raise InvalidInput(
                f"Unknown signature meaning {key!r}; the site policy defines: {', '.join(sorted(self.meanings))}."
            )
        return self.meanings[key]

    def rule(self, object_type: str, meaning: str) -> SignatureRule:
        """The rule for this meaning on this object type."""
        self.meaning(meaning)
        for rule in self.rules:
            if rule.object_type == object_type and rule.meaning == meaning:
                return rule
        raise InvalidInput(f"The site policy allows no {meaning!r} signature on {object_type!r}.")


def parse_policy(document: Mapping[str, Any], content_hash: str) -> SitePolicy:
    """Validate a parsed policy document; every problem is named."""
    problems: list[str] = []
    head = document.get("policy", {})
    meanings = _parse_meanings(document.get("meanings", {}), problems)
    rules = [_parse_rule(i, raw, meanings, problems) for i, raw in enumerate(document.get("rules", []), 1)]
    if not isinstance(head, Mapping) or not str(head.get("version", "")).strip():
        problems.append("[policy] needs a version")
    for required in ("performed", "verified", "reviewed", "approved", "released", "rejected"):
        if required not in meanings:
            problems.append(f"meaning {required!r} is required (11.50(a)(3))")
    _check_governance_floor([r for r in rules if r is not None], problems)
    if problems:
        raise InvalidInput("Signature policy: " + "; ".join(problems) + ".")
    return SitePolicy(
        str(head["version"]),
        str(head.get("title", "Site signature policy")),
        meanings,
        tuple(r for r in rules if r is not None),
        content_hash,
    )


def _parse_meanings(raw: object, problems: list[str]) -> dict[str, Meaning]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append("[meanings] must list the controlled meanings")
        return {}
    meanings = {}
    for key, body in raw.items():
        text = body.get("text", "") if isinstance(body, Mapping) else ""
        if not str(text).strip():
            problems.append(f"meaning {key!r} needs its printed text")
        meanings[str(key)] = Meaning(str(key), str(text))
    return meanings


def _parse_rule(index: int, raw: object, meanings: Mapping[str, Meaning], problems: list[str]) -> SignatureRule | None:
    if not isinstance(raw, Mapping):
        problems.append(f"rule {index} is not a table")
        return None
    meaning, obj = str(raw.get("meaning", "")), str(raw.get("object", ""))
    if meaning not in meanings:
        problems.append(f"rule {index}: unknown meaning {meaning!r}")
    if not obj:
        problems.append(f"rule {index}: object is required")
    try:
        roles = frozenset(Role(r) for r in raw.get("roles", []))
    except ValueError as exc:
        problems.append(f"rule {index}: {exc}")
        return None
    if not roles:
        problems.append(f"rule {index}: at least one role may sign")
    if Role.ADMIN in roles and obj != "setting_change":
        problems.append(f"rule {index}: an administrator never signs {obj} (ACC-03)")
    differs = frozenset(str(m) for m in raw.get("differs_from", []))
    for other in differs - set(meanings):
        problems.append(f"rule {index}: differs_from names unknown meaning {other!r}")
    return SignatureRule(obj, meaning, roles, differs)


# Floors no policy version may lower: who approves procedures and policies, who releases (SIG-11).
GOVERNANCE_FLOOR: dict[tuple[str, str], tuple[frozenset[Role], frozenset[str]]] = {
    ("signature_policy", "approved"): (frozenset({Role.QA}), frozenset({"authored"})),
    ("procedure_version", "approved"): (frozenset({Role.QA}), frozenset({"authored"})),
    ("batch_release", "released"): (frozenset({Role.QA}), frozenset({"performed", "verified"})),
    ("batch_release", "rejected"): (frozenset({Role.QA}), frozenset({"performed", "verified"})),
    ("batch_step", "verified"): (frozenset({Role.SUPERVISOR, Role.QA}), frozenset({"performed"})),
}


def _check_governance_floor(rules: Sequence[SignatureRule], problems: list[str]) -> None:
    by_key = {(r.object_type, r.meaning): r for r in rules}
    for (obj, meaning), (roles, differs) in GOVERNANCE_FLOOR.items():
        rule = by_key.get((obj, meaning))
        if rule is None:
            problems.append(f"a rule for {meaning!r} on {obj!r} is required")
            continue
        if not rule.roles <= roles:
            problems.append(f"{meaning!r} on {obj!r} may only be signed by {', '.join(sorted(roles))}")
        if not differs <= rule.differs_from:
            problems.append(f"{meaning!r} on {obj!r} must differ from {', '.join(sorted(differs))}")


def check_can_sign(
    policy: SitePolicy, object_type: str, meaning: str, signer: User, earlier: Sequence[tuple[str, int]]
) -> SignatureRule:
    """Refuse unless the signer's roles and identity satisfy the rule (SIG-11).

    `earlier` holds (meaning, signer id) of the valid signatures already on the same object.
    """
    rule = policy.rule(object_type, meaning)
    if not signer.active:
        raise SignatureRefused("A disabled account cannot sign.")
    if signer.locked_at is not None:
        raise SignatureRefused("A locked account cannot sign.")
    if not rule.roles & signer.roles:
        raise SignatureRefused(
            f"A {meaning!r} signature on {object_type} needs one of the roles {', '.join(sorted(rule.roles))}."
        )
    for other_meaning, other_signer in earlier:
        if other_meaning in rule.differs_from and other_signer == signer.id:
            raise SignatureRefused(
                f"The {meaning!r} signer must be a different person from the {other_meaning!r} signer."
            )
    return rule


def check_bundle_roles(policy: SitePolicy, declared: Mapping[tuple[str, str], frozenset[Role]]) -> None:
    """A procedure bundle may only narrow the site policy, never widen who approves or releases."""
    for (object_type, meaning), roles in declared.items():
        if object_type in GOVERNED_OBJECTS:
            raise InvalidInput(
                f"A procedure cannot set who signs {meaning!r} on {object_type}: "
                "the site signature policy decides that."
            )
        allowed = policy.rule(object_type, meaning).roles
        extra = roles - allowed
        if extra:
            raise InvalidInput(
                f"A procedure cannot widen {meaning!r} on {object_type} to "
                f"{', '.join(sorted(extra))}: the site policy allows {', '.join(sorted(allowed))}."
            )


def canonical_json(value: object) -> bytes:
    """A deterministic JSON encoding in the spirit of RFC 8785: sorted keys, no whitespace, UTF-8,
    decimals and times as strings, so the same content always hashes the same."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return to_utc_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise InvalidInput("floats are not signed: use Decimal or text so the hash is exact")
    return value


def content_digest(content: Mapping[str, object]) -> str:
    """SHA-256 of the canonical content a signature covers."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


@dataclass(frozen=True)
class SignedPayload:
    """Exactly what the signer's key signs: the content hash bound to object, meaning, signer, time and policy."""

    object_type: str
    object_id: str
    meaning: str
    content_hash: str
    signer_id: int
    signer_username: str
    signer_name: str
    signed_at: datetime
    policy_hash: str
    challenge_id: str

    def to_bytes(self) -> bytes:
        """The canonical bytes that are signed and stored."""
        return canonical_json({"type": "ebr-signature-v1", **self.__dict__})


def password_alone_suffices(signer_is_session_owner: bool, owner_signed_in_this_session: bool) -> bool:
    """11.200(a)(1): within one continuous session, after the first signature with all components, the
    session owner signs with the password alone; anyone else (a second person at this terminal) gives both."""
    return signer_is_session_owner and owner_signed_in_this_session
