"""OAuth 2 (RFC 6749) as Mastodon clients use it: apps, authorization codes, access tokens.

Every secret this module mints (client secrets, codes, tokens) is a random string shown once
and stored as its SHA-256 hash, so a copy of the database grants nothing. Codes are single-use,
bound to the client, the redirect URI, the scopes, the account and the PKCE challenge, and live
ten minutes. Sync functions taking a sqlite3 connection; callers pass `now`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from fedcoop import clock, ids
from fedcoop.accounts import scopes as scope_rules
from fedcoop.accounts.accounts import Account, record_signin
from fedcoop.errors import AppError, BadRequest, ValidationError

OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
MAX_NAME_LENGTH = 100
MAX_URI_LENGTH = 2000
MAX_REDIRECT_URIS = 10
# Schemes a browser would run or read locally rather than hand to an app.
_FORBIDDEN_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
# RFC 7636 section 4.1: the verifier's alphabet and length; an S256 challenge is 43 characters.
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class OAuthError(AppError):
    """An RFC 6749 section 5.2 error: `error` is the registered code, the message describes it."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description, status=status)
        self.error = error


@dataclass(frozen=True)
class OAuthApp:
    id: str
    client_id: str
    name: str
    website: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: str


@dataclass(frozen=True)
class NewApp:
    app: OAuthApp
    client_secret: str  # shown once, never stored


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated `/oauth/authorize` request, ready to become a code once the user agrees."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str  # shown once, never stored
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Grant:
    """What a valid bearer token allows: whose it is (None for an app token) and its scopes."""

    token_id: str
    app: OAuthApp
    account: Account | None
    scopes: tuple[str, ...]

    def allows(self, *required: str) -> bool:
        return scope_rules.allows_all(self.scopes, required)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# apps ----------------------------------------------------------------------------------------


def _valid_redirect_uri(uri: str) -> bool:
    if uri == OOB_REDIRECT_URI:
        return True
    if len(uri) > MAX_URI_LENGTH or any(c.isspace() for c in uri):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    # RFC 6749 section 3.1.2: an absolute URI without a fragment. Native apps register
    # private schemes (`com.example.app:/callback`), so any scheme but the dangerous ones.
    if not _SCHEME_RE.match(parts.scheme) or parts.fragment or "#" in uri:
        return False
    if parts.scheme.lower() in _FORBIDDEN_REDIRECT_SCHEMES:
        return False
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.hostname)
    return bool(parts.netloc or parts.path)


def parse_redirect_uris(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Redirect URIs one per line or space-separated (Mastodon.py joins a list with newlines),
    or a list; each must be an absolute URI or the out-of-band URN."""
    if value is None:
        words: list[str] = []
    elif isinstance(value, str):
        words = value.split()
    else:
        words = [w for item in value for w in str(item).split()]
    if not words:
        raise ValidationError("redirect_uris is required", field="redirect_uris")
    if len(words) > MAX_REDIRECT_URIS:
        raise ValidationError(f"at most {MAX_REDIRECT_URIS} redirect URIs", field="redirect_uris")
    for uri in words:
        if not _valid_redirect_uri(uri):
            raise ValidationError(
                f"{uri[:100]!r} is not an absolute URI or {OOB_REDIRECT_URI}",
                field="redirect_uris",
            )
    return tuple(dict.fromkeys(words))


def _clean_website(website: str | None) -> str | None:
    if not website or not website.strip():
        return None
    website = website.strip()
    try:
        parts = urlsplit(website)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(website) > MAX_URI_LENGTH
    ):
        raise ValidationError("website must be an http or https URL", field="website")
    return website


def create_app(
    conn: sqlite3.Connection,
    *,
    name: str | None,
    redirect_uris: str | Iterable[str] | None,
    scopes: str | Iterable[str] | None,
    website: str | None,
    now: datetime,
) -> NewApp:
    """Register a client (`POST /api/v1/apps`); open to anyone, as on Mastodon."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("client_name is required", field="client_name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"client_name has at most {MAX_NAME_LENGTH} characters", field="client_name"
        )
    uris = parse_redirect_uris(redirect_uris)
    app_scopes = scope_rules.parse_scopes(scopes)
    site = _clean_website(website)
    app = OAuthApp(
        id=ids.new_id(),
        client_id=new_secret(),
        name=name,
        website=site,
        redirect_uris=uris,
        scopes=app_scopes,
        created_at=clock.iso(now),
    )
    client_secret = new_secret()
    conn.execute(
        "INSERT INTO oauth_apps (id, client_id, client_secret_hash, name, website, "
        "redirect_uris, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            app.id,
            app.client_id,
            hash_secret(client_secret),
            app.name,
            app.website,
            "\n".join(app.redirect_uris),
            scope_rules.format_scopes(app.scopes),
            app.created_at,
        ),
    )
    return NewApp(app, client_secret)


_APP_COLUMNS = "id, client_id, name, website, redirect_uris, scopes, created_at"


def _app(row: sqlite3.Row) -> OAuthApp:
    return OAuthApp(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        website=row["website"],
        redirect_uris=tuple(row["redirect_uris"].split("\n")),
        scopes=tuple(row["scopes"].split()),
        created_at=row["created_at"],
    )


def get_app(conn: sqlite3.Connection, client_id: str) -> OAuthApp | None:
    row = conn.execute(
        f"SELECT {_APP_COLUMNS} FROM oauth_apps WHERE client_id = ?", (client_id,)
    ).fetchone()
    return _app(row) if row else None


def authenticate_client(
    conn: sqlite3.Connection, client_id: str | None, client_secret: str | None
) -> OAuthApp:
    """The app whose credentials these are, or `invalid_client` (401)."""
    row = None
    if client_id:
        row = conn.execute(
            f"SELECT {_APP_COLUMNS}, client_secret_hash FROM oauth_apps WHERE client_id = ?",
            (client_id,),
        ).fetchone()
    # Compare against something even for an unknown client, so timing says nothing.
    stored = row["client_secret_hash"] if row else hash_secret("")
    given = hash_secret(client_secret or "")
    if row is None or not client_secret or not hmac.compare_digest(stored, given):
        raise OAuthError("invalid_client", "Client authentication failed.", status=401)
    return _app(row)


def narrow_scopes(app: OAuthApp, requested: str | None, *, field: str = "scope") -> tuple[str, ...]:
    """The scopes a token asks for (the app's own when none are named); `invalid_scope` for
    an unknown scope or one the app was not registered with."""
    try:
        wanted = scope_rules.parse_scopes(requested, default=app.scopes, field=field)
    except ValidationError as exc:
        raise OAuthError("invalid_scope", exc.safe_message) from None
    if not scope_rules.allows_all(app.scopes, wanted):
        raise OAuthError("invalid_scope", "The requested scope exceeds the app's scopes.")
    return wanted


# authorization codes -------------------------------------------------------------------------


def check_client_redirect(
    conn: sqlite3.Connection, client_id: str | None, redirect_uri: str | None
) -> OAuthApp:
    """The first check of `/oauth/authorize`, before anything may be redirected: a known client
    and a redirect URI registered for it, compared exactly (RFC 6749 section 10.6)."""
    app = get_app(conn, client_id) if client_id else None
    if app is None:
        raise BadRequest("This application is not known here (unknown client_id).")
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        raise BadRequest("The redirect_uri is not one this application registered.")
    return app


def authorization_request(
    app: OAuthApp,
    redirect_uri: str,
    *,
    response_type: str | None,
    scope: str | None,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> AuthorizationRequest:
    """Validate the rest of an authorization request; errors here may be redirected back."""
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    wanted = narrow_scopes(app, scope)
    if code_challenge or code_challenge_method:
        # RFC 7636 section 4.3: a challenge without a method means `plain`, which we refuse.
        if code_challenge_method != "S256":
            raise OAuthError("invalid_request", "Only code_challenge_method=S256 is supported.")
        if not code_challenge or not _CHALLENGE_RE.match(code_challenge):
            raise OAuthError("invalid_request", "code_challenge is not an S256 challenge.")
    return AuthorizationRequest(app, redirect_uri, wanted, state, code_challenge or None)


def issue_code(
    conn: sqlite3.Connection, request: AuthorizationRequest, account_id: str, now: datetime
) -> str:
    """A single-use code for what the account just agreed to; also records the sign-in."""
    code = new_secret()
    conn.execute("DELETE FROM oauth_codes WHERE expires_at < ?", (clock.iso(now),))
    conn.execute(
        "INSERT INTO oauth_codes (code_hash, app_id, account_id, redirect_uri, scopes, "
        "code_challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hash_secret(code),
            request.app.id,
            account_id,
            request.redirect_uri,
            scope_rules.format_scopes(request.scopes),
            request.code_challenge,
            clock.iso(now),
            clock.iso(now + CODE_LIFETIME),
        ),
    )
    record_signin(conn, account_id)
    return code


def pkce_s256(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def redeem_code(
    conn: sqlite3.Connection,
    app: OAuthApp,
    *,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
    now: datetime,
    token_days: int,
) -> IssuedToken | OAuthError:
    """Exchange a code for a token (grant_type=authorization_code).

    Returns the error rather than raising it: a code presented twice revokes the tokens it
    already issued (RFC 6749 section 4.1.2), and raising would roll that revocation back.
    """
    invalid = OAuthError("invalid_grant", "The authorization code is invalid or expired.")
    if not code:
        return OAuthError("invalid_request", "code is required.")
    code_hash = hash_secret(code)
    row = conn.execute(
        "SELECT app_id, account_id, redirect_uri, scopes, code_challenge, expires_at, used_at "
        "FROM oauth_codes WHERE code_hash = ?",
        (code_hash,),
    ).fetchone()
    if row is None or row["app_id"] != app.id:
        return invalid
    if row["used_at"] is not None:
        conn.execute(
            "UPDATE oauth_tokens SET revoked_at = ? WHERE code_hash = ? AND revoked_at IS NULL",
            (clock.iso(now), code_hash),
        )
        return invalid
    if clock.parse_iso(row["expires_at"]) <= now:
        return invalid
    if redirect_uri != row["redirect_uri"]:
        return OAuthError("invalid_grant", "redirect_uri does not match the authorization.")
    challenge = row["code_challenge"]
    if challenge is not None and (
        not code_verifier
        or not _VERIFIER_RE.match(code_verifier)
        or not hmac.compare_digest(pkce_s256(code_verifier), challenge)
    ):
        return OAuthError("invalid_grant", "The code_verifier does not match the challenge.")
    conn.execute(
        "UPDATE oauth_codes SET used_at = ? WHERE code_hash = ?", (clock.iso(now), code_hash)
    )
    return issue_token(
        conn,
        app,
        account_id=row["account_id"],
        scopes=tuple(row["scopes"].split()),
        now=now,
        token_days=token_days,
        code_hash=code_hash,
    )


# access tokens -------------------------------------------------------------------------------


def issue_token(
    conn: sqlite3.Connection,
    app: OAuthApp,
    *,
    account_id: str | None,
    scopes: tuple[str, ...],
    now: datetime,
    token_days: int,
    code_hash: str | None = None,
) -> IssuedToken:
    """A new bearer token; `account_id` None makes an app token (client_credentials)."""
    token = new_secret()
    expires_at = now + timedelta(days=token_days) if token_days > 0 else None
    conn.execute(
        "INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes, code_hash, "
        "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ids.new_id(),
            hash_secret(token),
            app.id,
            account_id,
            scope_rules.format_scopes(scopes),
            code_hash,
            clock.iso(now),
            clock.iso(expires_at) if expires_at else None,
        ),
    )
    return IssuedToken(token, scopes, now, expires_at)


def issue_password_token(
    conn: sqlite3.Connection,
    app: OAuthApp,
    account: Account,
    *,
    scopes: tuple[str, ...],
    now: datetime,
    token_days: int,
) -> IssuedToken:
    """grant_type=password, once the caller has checked the password: token and sign-in."""
    record_signin(conn, account.id)
    return issue_token(
        conn, app, account_id=account.id, scopes=scopes, now=now, token_days=token_days
    )


def revoke_token(conn: sqlite3.Connection, app: OAuthApp, token: str, now: datetime) -> bool:
    """Revoke a token issued to `app`; a token of another app is left alone (RFC 7009 2.1)."""
    cursor = conn.execute(
        "UPDATE oauth_tokens SET revoked_at = ? "
        "WHERE token_hash = ? AND app_id = ? AND revoked_at IS NULL",
        (clock.iso(now), hash_secret(token), app.id),
    )
    return cursor.rowcount > 0


_GRANT_QUERY = (
    "SELECT t.id AS token_id, t.scopes AS token_scopes, t.expires_at, t.revoked_at, "
    "a.id, a.client_id, a.name, a.website, a.redirect_uris, a.scopes, a.created_at, "
    "acc.id AS account_id, acc.actor_id, acc.role, acc.disabled, "
    "acc.created_at AS account_created_at, act.username, act.display_name "
    "FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id "
    "LEFT JOIN accounts acc ON acc.id = t.account_id "
    "LEFT JOIN actors act ON act.id = acc.actor_id "
    "WHERE t.token_hash = ?"
)


def find_grant(conn: sqlite3.Connection, token: str, now: datetime) -> Grant | None:
    """What a bearer token allows, or None if it is unknown, revoked, expired, or its account
    is disabled. One indexed query: it runs on every authenticated API request."""
    row = conn.execute(_GRANT_QUERY, (hash_secret(token),)).fetchone()
    if row is None or row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and clock.parse_iso(row["expires_at"]) <= now:
        return None
    account = None
    if row["account_id"] is not None:
        if row["disabled"]:
            return None
        account = Account(
            id=row["account_id"],
            actor_id=row["actor_id"],
            role=row["role"],
            username=row["username"],
            display_name=row["display_name"],
            disabled=False,
            created_at=row["account_created_at"],
        )
    return Grant(
        token_id=row["token_id"],
        app=_app(row),
        account=account,
        scopes=tuple(row["token_scopes"].split()),
    )
