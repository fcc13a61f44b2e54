"""Every outgoing federation request goes through `FederationClient` (PROTOCOL.md §2 and §4).

One `aiohttp.ClientSession` per process, whose connector resolves names through
`PolicyResolver`: the address policy (`ssrf.py`) is applied to the addresses the connector is
about to connect to, so DNS rebinding cannot slip a private address past a check made earlier.
IP-literal URLs never reach a resolver in aiohttp, so they are checked before the request.

Rules for every request: `https` only (plain `http` only when the instance itself runs on http,
the explicit development mode); the federation policy is asked before any connection; no
proxies from the environment, no cookies. GETs follow at most 5 redirects by hand, re-checking
each hop and refusing an https -> http downgrade; only AS2 content types are read, in chunks,
and a body over `federation.max_body_bytes` is cut off and refused. POSTs are never redirected.

Failures raise `FetchError` with a short reason code (see `REASONS`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final
from urllib.parse import urldefrag, urljoin

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from fedcoop import __version__, clock
from fedcoop.activitypub.documents import DocumentError, check_document
from fedcoop.activitypub.hosts import (
    HostError,
    origin,
    split_host_port,
    url_scheme_and_host,
)
from fedcoop.activitypub.vocab import ACCEPT_HEADER, AP_MEDIA_TYPE, is_as2_content_type
from fedcoop.config import Settings
from fedcoop.federation.policy import Policy
from fedcoop.federation.signing import LocalSigner
from fedcoop.federation.ssrf import ForbiddenAddress, check_address, parse_address

log = logging.getLogger(__name__)

MAX_REDIRECTS: Final = 5
CONNECT_TIMEOUT: Final = 10.0
TOTAL_TIMEOUT: Final = 30.0
_ERROR_TEXT_BYTES: Final = 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})

REASONS: Final = frozenset(
    {
        "bad_url",  # not an absolute http(s) URL, or a host that does not normalise
        "bad_scheme",  # http while the instance runs on https
        "blocked",  # the federation policy refuses the host
        "forbidden_address",  # resolves to (or is) a loopback/private/reserved address
        "too_large",  # body over federation.max_body_bytes
        "bad_content_type",  # not an AS2 media type
        "too_many_redirects",
        "downgrade",  # a redirect from https to http
        "cross_origin_redirect",  # a redirect to another origin where the caller forbids it
        "timeout",
        "connection",  # refused, reset, TLS failure, DNS failure
        "not_json",  # not a JSON object
        "jsonld_keyword",  # @graph, @included or @reverse
        "too_deep",
        "id_mismatch",  # the document's id is not the URL it came from (fetcher)
        "bad_actor",  # an actor document that breaks a rule (fetcher)
        "bad_key",  # no usable key where one was expected (fetcher)
        "local",  # a URL on our own host: never fetched over the network (fetcher)
        "budget_exhausted",  # one inbound activity asked for too many fetches (fetcher)
    }
)


class FetchError(Exception):
    """An outgoing request that failed or was refused; `reason` is a short stable code.

    `http_<status>` is the reason for a GET answered with an error status.
    """

    def __init__(self, reason: str, detail: str = "", *, status: int | None = None) -> None:
        if reason not in REASONS and not reason.startswith("http_"):
            raise ValueError(f"unknown fetch error reason {reason!r}")
        self.reason = reason
        self.detail = detail
        self.status = status
        super().__init__(f"{reason}: {detail}" if detail else reason)

    @property
    def transient(self) -> bool:
        """Worth retrying later: the network or the peer may recover; a refusal will not."""
        if self.reason in ("timeout", "connection"):
            return True
        return self.status is not None and (self.status >= 500 or self.status == 429)


@dataclass(frozen=True)
class PostResult:
    """The answer to a delivery: the status, `Retry-After` in seconds, and a short error text."""

    status: int
    retry_after: float | None
    error: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def redirect_target(current: str, location: str) -> str:
    """The next URL of a redirect; refuses an https -> http downgrade before it is requested."""
    target, _ = urldefrag(urljoin(current, location))
    if current.lower().startswith("https:") and target.lower().startswith("http:"):
        raise FetchError("downgrade", f"{origin(current)} redirected to a non-https URL")
    return target


class PolicyResolver(AbstractResolver):
    """Resolves with `inner`, then drops every address the address policy refuses.

    When nothing is left the connection fails with `ForbiddenAddress` before any socket opens.
    """

    def __init__(self, inner: AbstractResolver, *, allow_private_network: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private_network

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = []
        for result in results:
            try:
                check_address(result["host"], allow_private_network=self._allow_private)
            except ForbiddenAddress:
                log.info("refusing %s: it resolves to %s", host, result["host"])
                continue
            allowed.append(result)
        if not allowed:
            raise ForbiddenAddress(host)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class _Target:
    url: yarl.URL
    text: str  # the URL as given (no fragment), for comparing with document ids
    host: str  # normalised HOST[:PORT], also the Host header


class FederationClient:
    """The one HTTP client of federation: `get_json` for documents, `post` for deliveries."""

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        *,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self._policy = policy
        self._allow_http = settings.instance.scheme == "http"
        self._allow_private = settings.instance.allow_private_network
        self._max_body = settings.federation.max_body_bytes
        self._inner_resolver = resolver
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._now = now
        contact = settings.federation.user_agent_contact
        self.user_agent = f"fedcoop/{__version__} (+{settings.base_url}/" + (
            f"; {contact})" if contact else ")"
        )
        self._session: aiohttp.ClientSession | None = None
        self._resolver: PolicyResolver | None = None

    # lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._session is not None:
            return
        inner = self._inner_resolver or aiohttp.DefaultResolver()
        # The connector does not close a resolver it was given: `close()` does.
        self._resolver = PolicyResolver(inner, allow_private_network=self._allow_private)
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            ssl=self._ssl,
            limit=100,
            limit_per_host=8,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self._total_timeout, sock_connect=self._connect_timeout
            ),
            trust_env=False,  # never route federation through a proxy from the environment
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": self.user_agent},
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None

    async def __aenter__(self) -> FederationClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("FederationClient not started")
        return self._session

    # checks before any connection ----------------------------------------------------------
    async def check_url(self, url: str) -> _Target:
        """Refuse a URL before connecting: form, scheme, federation policy, literal addresses."""
        text, _ = urldefrag(url)
        try:
            scheme, host = url_scheme_and_host(text)
            parsed = yarl.URL(text)
        except (HostError, ValueError) as exc:
            raise FetchError("bad_url", str(exc)) from None
        if scheme == "http" and not self._allow_http:
            raise FetchError("bad_scheme", f"plain http is refused: {origin(text)}")
        if await self._policy.is_blocked(host):
            raise FetchError("blocked", f"{host} is blocked by federation policy")
        name, _ = split_host_port(host)
        if parse_address(name) is not None:
            try:
                check_address(name, allow_private_network=self._allow_private)
            except ForbiddenAddress as exc:
                raise FetchError("forbidden_address", str(exc)) from None
        return _Target(parsed, text, host)

    # GET -------------------------------------------------------------------------------------
    async def get_json(
        self, url: str, *, sign_as: LocalSigner | None = None, same_origin: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Fetch an AS2 document; returns (final URL, document).

        `same_origin=True` refuses a redirect to another origin before following it (the
        fetcher asks for this: a document vouches only for ids on its own origin).
        """
        try:
            async with asyncio.timeout(self._total_timeout):
                return await self._get_json(url, sign_as, same_origin)
        except TimeoutError:
            raise FetchError("timeout", f"no document from {_safe_origin(url)} in time") from None

    async def _get_json(
        self, url: str, sign_as: LocalSigner | None, same_origin: bool
    ) -> tuple[str, dict[str, Any]]:
        target = await self.check_url(url)
        first_origin = origin(target.text)
        redirects = 0
        sign_query = True
        while True:
            async with self._send_get(target, sign_as, sign_query) as resp:
                if resp.status in _REDIRECTS and "Location" in resp.headers:
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise FetchError("too_many_redirects", f"more than {MAX_REDIRECTS}")
                    next_url = redirect_target(target.text, resp.headers["Location"])
                    if same_origin and not _same_origin(next_url, first_origin):
                        raise FetchError("cross_origin_redirect", f"to {_safe_origin(next_url)}")
                    target = await self.check_url(next_url)
                    sign_query = True
                    continue
                if (
                    resp.status == 401
                    and sign_as is not None
                    and sign_query
                    and target.url.raw_query_string
                ):
                    # Fedify verifies (request-target) without the query (PROTOCOL.md §2).
                    sign_query = False
                    continue
                if not 200 <= resp.status < 300:
                    raise FetchError(f"http_{resp.status}", status=resp.status)
                if not is_as2_content_type(resp.headers.get("Content-Type")):
                    raise FetchError(
                        "bad_content_type", repr(resp.headers.get("Content-Type", ""))[:100]
                    )
                body = await self._read_capped(resp)
            return target.text, _parse_document(body)

    def _send_get(self, target: _Target, sign_as: LocalSigner | None, sign_query: bool) -> Any:
        headers = {"Accept": ACCEPT_HEADER, "Host": target.host}
        if sign_as is not None:
            headers |= sign_as.sign(
                "GET",
                target.url.raw_path_qs,
                target.host,
                None,
                self._now(),
                sign_query=sign_query,
            )
        return _Translated(self.session.get(target.url, headers=headers, allow_redirects=False))

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self._max_body:
            resp.close()
            raise FetchError("too_large", f"declared {declared} bytes")
        buffer = bytearray()
        try:
            async for chunk in resp.content.iter_chunked(64 * 1024):
                buffer += chunk
                if len(buffer) > self._max_body:
                    resp.close()  # stop reading: the connection is dropped, not drained
                    raise FetchError("too_large", f"over {self._max_body} bytes")
        except aiohttp.ClientError as exc:
            raise FetchError("connection", f"body cut short: {type(exc).__name__}") from None
        return bytes(buffer)

    # POST ------------------------------------------------------------------------------------
    async def post(self, inbox_url: str, body: bytes, signer: LocalSigner) -> PostResult:
        """Deliver `body` to an inbox, signed now by `signer`; never follows redirects.

        Returns the answer whatever its status; raises `FetchError` only when there was no
        answer (refused by policy, timeout, connection failure): see `FetchError.transient`.
        """
        target = await self.check_url(inbox_url)
        now = self._now()
        headers = {"Content-Type": AP_MEDIA_TYPE, "Host": target.host}
        headers |= signer.sign("POST", target.url.raw_path_qs, target.host, body, now)
        try:
            async with asyncio.timeout(self._total_timeout):
                request = self.session.post(
                    target.url, data=body, headers=headers, allow_redirects=False
                )
                async with _Translated(request) as resp:
                    status = resp.status
                    try:
                        text = await resp.content.read(_ERROR_TEXT_BYTES)
                    except aiohttp.ClientError:
                        text = b""  # the status is the answer; a cut-off body changes nothing
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"), now)
        except TimeoutError:
            raise FetchError("timeout", f"no answer from {target.host} in time") from None
        error = None
        if not 200 <= status < 300:
            error = f"{status} {text.decode('utf-8', 'replace')}".strip()[:300]
        return PostResult(status, retry_after, error)


class _Translated:
    """Wraps an aiohttp request context so its transport errors become `FetchError`s."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            self._response = await self._request.__aenter__()
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddress):
                raise FetchError("forbidden_address", str(exc.os_error)) from None
            raise FetchError("connection", f"{exc.host}: {exc.os_error}") from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            raise FetchError("timeout") from None
        except (aiohttp.InvalidURL, ValueError) as exc:
            raise FetchError("bad_url", str(exc)) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchError("connection", type(exc).__name__) from None
        assert self._response is not None
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._request.__aexit__(exc_type, exc, tb)


def _parse_document(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError("not_json", "the body is not JSON") from None
    try:
        return check_document(doc)
    except DocumentError as exc:
        reason = "not_json" if exc.reason == "not_object" else exc.reason
        raise FetchError(reason, exc.detail) from None


def _same_origin(url: str, expected_origin: str) -> bool:
    try:
        return origin(url) == expected_origin
    except HostError:
        return False


def _safe_origin(url: str) -> str:
    try:
        return origin(url)
    except HostError:
        return "an invalid URL"
