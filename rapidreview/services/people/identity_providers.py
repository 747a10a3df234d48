"""Who an organisation's identity provider signs in: matching its ID token to an account.

The web layer (rapidreview.web.oidc_client) runs the OpenID Connect protocol with Authlib and hands over the
ID token's claims only once Authlib has checked the token (signature, issuer, audience, expiry, nonce). This
module decides whose account, if anyone's, they open:

- An identity the account was linked to before (the provider's issuer and never-reused ``sub``) opens it.
- Otherwise the token's e-mail must be verified by the provider, in one of the provider's allowed domains,
  and belong to an account an administrator created in the provider's partnership; the first such sign-in
  links the identity. An account already linked to another identity at the same provider is refused: an
  e-mail address given to someone new does not open the previous holder's account.

Nobody gets an account or a role by signing in: accounts and roles are an administrator's (docs/security.md).
Every sign-in and every refusal is audited, without tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import NotAllowed
from rapidreview.oidc_settings import OidcProvider
from rapidreview.runtime import Runtime
from rapidreview.services.people import invitations
from rapidreview.services.people.users import (
    CREDENTIALS_CHANGED,
    SignedIn,
    UserError,
    end_sessions,
    signed_in,
)
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Partnership, User, UserIdentity

# Why a sign-in through a provider was refused (the audit trail's ``reason``; the sign-in page words each).
NO_EMAIL = "no_email"
EMAIL_UNVERIFIED = "email_unverified"
DOMAIN_NOT_ALLOWED = "domain_not_allowed"
NO_ACCOUNT = "no_account"
OTHER_PARTNERSHIP = "other_partnership"  # worded as NO_ACCOUNT: nobody learns of another partnership's people
LINKED_TO_ANOTHER_IDENTITY = "linked_to_another_identity"
ACCOUNT_CLOSED = "account_closed"
MISCONFIGURED = "provider_misconfigured"
# ...and why the protocol itself failed, before any claims could be read (rapidreview.web.oidc_client).
STATE_MISMATCH = "state_mismatch"  # no sign-in was started from this browser, or the answer was used already
INVALID_TOKEN = "invalid_token"
PROVIDER_ERROR = "provider_error"
PROVIDER_UNREACHABLE = "provider_unreachable"

MFA = "mfa"  # RFC 8176: the amr value for multiple-factor authentication


class SignInRefused(NotAllowed):
    def __init__(self, reason: str, email: str | None = None) -> None:
        self.reason, self.email = reason, email
        super().__init__(reason)


@dataclass(frozen=True)
class ProviderSignIn:
    user: SignedIn
    mfa: bool  # the provider reported multi-factor authentication
    needs_totp: bool  # the person must still give a code from their authenticator app


@dataclass(frozen=True)
class LinkedIdentity:
    provider: str
    issuer: str
    linked_at: datetime
    last_used_at: datetime | None


def email_verified(claims: Mapping[str, Any]) -> bool:
    """OpenID Connect's ``email_verified``; Microsoft Entra ID sends none, but its optional ``xms_edov`` says
    the e-mail's domain is one the organisation's tenant has verified it owns."""
    return any(claims.get(name) is True or claims.get(name) == "true" for name in ("email_verified", "xms_edov"))


def reports_mfa(provider: OidcProvider, claims: Mapping[str, Any]) -> bool:
    amr = claims.get("amr")
    if isinstance(amr, list) and MFA in amr:
        return True
    return bool(provider.mfa_acr_values) and claims.get("acr") in provider.mfa_acr_values


def sign_in(rt: Runtime, provider: OidcProvider, claims: Mapping[str, Any], *, totp_required: bool,
            ip: str | None) -> ProviderSignIn:
    """The account ``claims`` (a checked ID token's) sign in, or :class:`SignInRefused`; audited either way."""
    email = str(claims.get("email") or "").strip().lower() or None
    refused: SignInRefused | None = None
    with transaction(rt.sessions) as session:
        try:
            user = _account(session, provider, str(claims["iss"]), str(claims["sub"]), email, claims)
        except SignInRefused as exc:
            audit.record(session, None, "oidc_sign_in_refused", actor=email or "unknown", provider=provider.id,
                         reason=exc.reason, ip=ip)
            refused = exc
        else:
            mfa = reports_mfa(provider, claims)
            needs_totp = totp_required and not (mfa and provider.mfa_satisfies_totp)
            user.last_sign_in_at = clock.now()
            invitations.accepted_through_provider(session, user, provider.id)  # an invited person's first sign-in
            audit.record(session, None, "oidc_signed_in", actor=user.email, provider=provider.id, ip=ip, mfa=mfa,
                         totp_next=needs_totp)
            result = ProviderSignIn(signed_in(user), mfa, needs_totp)
    if refused is not None:
        raise refused
    return result


def record_refusal(rt: Runtime, provider_id: str, reason: str, *, ip: str | None, detail: str = "") -> None:
    """Audit a sign-in the protocol refused before any identity was known (a bad token, a replayed answer).
    ``detail`` says which check failed; it never holds a token."""
    with transaction(rt.sessions) as session:
        audit.record(session, None, "oidc_sign_in_refused", actor="unknown", provider=provider_id, reason=reason,
                     detail=detail[:200] or None, ip=ip)


def _account(session: Session, provider: OidcProvider, issuer: str, subject: str, email: str | None,
             claims: Mapping[str, Any]) -> User:
    partnership = session.scalar(select(Partnership).where(Partnership.code == provider.partnership))
    if partnership is None:
        raise SignInRefused(MISCONFIGURED, email)
    identity = session.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                         UserIdentity.subject == subject))
    user = session.get(User, identity.user_id) if identity is not None else _by_verified_email(
        session, provider, email, claims)
    if user is None:
        raise SignInRefused(NO_ACCOUNT, email)
    if user.partnership_id != partnership.id:
        raise SignInRefused(OTHER_PARTNERSHIP, email)
    if not user.active or not partnership.active:
        raise SignInRefused(ACCOUNT_CLOSED, email)
    now = clock.now()
    if identity is not None:
        identity.last_used_at = now
        return user
    if session.scalar(select(UserIdentity.id).where(UserIdentity.user_id == user.id,
                                                    UserIdentity.issuer == issuer)) is not None:
        raise SignInRefused(LINKED_TO_ANOTHER_IDENTITY, email)
    session.add(UserIdentity(user_id=user.id, provider=provider.id, issuer=issuer, subject=subject, linked_at=now,
                             last_used_at=now))
    audit.record(session, None, "oidc_identity_linked", actor=user.email, provider=provider.id)
    return user


def _by_verified_email(session: Session, provider: OidcProvider, email: str | None,
                       claims: Mapping[str, Any]) -> User | None:
    if not email or "@" not in email:
        raise SignInRefused(NO_EMAIL, email)
    if not email_verified(claims):
        raise SignInRefused(EMAIL_UNVERIFIED, email)
    if email.rsplit("@", 1)[1] not in provider.domains:
        raise SignInRefused(DOMAIN_NOT_ALLOWED, email)
    return session.scalar(select(User).where(User.email == email))


# Administrators see an account's linked identities and can unlink them (for example when the organisation
# has given the person a new identity): the next sign-in links again, by verified e-mail.


def linked_identities(rt: Runtime, user_id: int) -> list[LinkedIdentity]:
    with transaction(rt.sessions) as session:
        rows = session.scalars(select(UserIdentity).where(UserIdentity.user_id == user_id)
                               .order_by(UserIdentity.linked_at))
        return [LinkedIdentity(r.provider, r.issuer, r.linked_at, r.last_used_at) for r in rows]


def unlink_identities(rt: Runtime, user_id: int, *, actor: str, partnership_id: int) -> int:
    """Forget every identity linked to the account (an administrator's action, audited) and end its sessions,
    as any change to how an account signs in does; returns how many identities were unlinked."""
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None or user.partnership_id != partnership_id:
            raise UserError("user", "There is no such user")
        result = session.execute(delete(UserIdentity).where(UserIdentity.user_id == user_id))
        unlinked = int(result.rowcount)  # type: ignore[attr-defined]
        if unlinked:
            user.credentials_changed_at = clock.now()
            end_sessions(session, user.id, CREDENTIALS_CHANGED)
            audit.record(session, None, "oidc_identities_unlinked", actor=actor, user=user.email, identities=unlinked)
        return unlinked
