"""HTTP for the wizard: one ``requests`` session with the OS trust store, proxies and plain-word errors.

What this module honours (and nothing else):

* **Trust:** the operating system's certificate store through ``truststore`` (so a corporate
  TLS-inspecting proxy whose root the IT department installed works), plus one extra CA bundle
  file when the user named one: ``PIP_CERT`` (pip's ``--cert``), ``REQUESTS_CA_BUNDLE``,
  ``SSL_CERT_FILE`` or ``CURL_CA_BUNDLE``, first one set wins. Verification is never switched off;
  there is no setting for that on purpose.
* **Proxies:** ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` from the
  environment (requests' ``trust_env``), or an explicit proxy URL, which wins over the
  environment. Credentials in a proxy URL never reach a log or an error: see :func:`redact_url`.
* **Errors:** every network failure becomes a :class:`~wizard.core.errors.WizardError` with its
  own words (DNS failure, connection refused, timeout, proxy authentication required, TLS
  interception naming the certificate issuer, not found, server error): see :func:`classify_error`.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from wizard import __version__
from wizard.core import messages as M
from wizard.core.errors import WizardError

# Re-exported: the presets are plain data in their own module so the GUI can show them without
# loading requests at start-up.
from wizard.core.knowledge.mirrors import MIRROR_PRESETS as MIRROR_PRESETS
from wizard.core.knowledge.mirrors import OFFICIAL_INDEX as OFFICIAL_INDEX
from wizard.core.knowledge.mirrors import MirrorPreset as MirrorPreset
from wizard.core.text import T, Text
from wizard.core.units import format_bytes

# (connect, read) seconds. Read is per socket read, not for the whole file, so a stalled response
# is noticed within a minute while a slow but moving 3 GB download is never cut.
DEFAULT_TIMEOUT: tuple[float, float] = (15.0, 60.0)

# A small document (an index page, a .metadata file, a JSON lookup) is read whole, so it gets a
# total deadline and a size cap besides the per-read timeout: a server trickling one byte every
# few seconds never trips the read timeout, and an endless page would fill the memory. The largest
# project page measured, pypi.org/simple/botocore/ as PEP 691 JSON, was 1.99 MB on 2026-12-01
# (pypi.org/simple/torch/: 0.42 MB); 32 MiB leaves 16 times that. 300 s reads such a 2 MB page at
# under 7 KB/s, far slower than any working index.
PAGE_MAX_BYTES = 32 * 1024 * 1024
PAGE_DEADLINE_S = 300.0

# Environment variables naming an extra CA bundle, in the order they are honoured. PIP_CERT is
# pip's --cert setting, so a user who configured pip for a corporate proxy gets the same trust here.
CA_BUNDLE_ENV = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")

# Accept header preferring PEP 691 JSON, then PEP 503 HTML (the q-values are PEP 691's example).
SIMPLE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)


@dataclass(frozen=True)
class NetConfig:
    """How the wizard talks to the network. Every field has a safe default."""

    proxy: str | None = None          # explicit proxy URL; wins over HTTP(S)_PROXY
    ca_bundle: str | None = None      # extra CA bundle; default: the first of CA_BUNDLE_ENV that is set
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    trust_env: bool = True            # honour proxy variables and NO_PROXY from the environment
    page_deadline_s: float = PAGE_DEADLINE_S   # total time for one small document (see above)
    page_max_bytes: int = PAGE_MAX_BYTES       # largest small document read


def ca_bundle_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The extra CA bundle named by the environment (see :data:`CA_BUNDLE_ENV`), or None."""
    env = os.environ if environ is None else environ
    for name in CA_BUNDLE_ENV:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@``, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def make_ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A verifying TLS context backed by the OS trust store, plus ``ca_bundle`` when given."""
    import truststore  # imported here so that a broken truststore install names itself clearly

    ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        try:
            ctx.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise WizardError(
                f"the CA bundle {ca_bundle} cannot be read: {exc}",
                hint="fix or unset PIP_CERT / REQUESTS_CA_BUNDLE / SSL_CERT_FILE",
            ) from None
    return ctx


class _TrustStoreAdapter(HTTPAdapter):
    """An adapter whose connections (direct and through proxies) use our SSL context."""

    def __init__(self, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


class WizardSession(requests.Session):
    """A session whose explicit proxy wins over the environment's and that applies a default timeout.

    requests merges environment proxies *over* ``Session.proxies`` (psf/requests#2018), so an
    explicit setting would silently lose to ``HTTPS_PROXY``; this class puts it back on top.
    """

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.trust_env = config.trust_env

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxy = self.config.proxy
        if proxy:
            bypass = self.trust_env and requests.utils.should_bypass_proxies(url, no_proxy=None)
            settings["proxies"] = {} if bypass else {"http": proxy, "https": proxy}
        # Never let anything (an env var, a caller) turn verification off.
        if settings.get("verify") is False:
            settings["verify"] = True
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.config.timeout)
        return super().request(method, url, *args, **kwargs)


def make_session(config: NetConfig | None = None) -> WizardSession:
    """A session for every request the wizard makes (indexes, wheels, installers)."""
    cfg = config or NetConfig()
    bundle = cfg.ca_bundle or (ca_bundle_from_env() if cfg.trust_env else None)
    session = WizardSession(cfg)
    # Retries are the downloader's job (it resumes); the adapter must not silently re-send.
    adapter = _TrustStoreAdapter(make_ssl_context(bundle), max_retries=0, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", HTTPAdapter(max_retries=0, pool_maxsize=16))
    session.headers["User-Agent"] = f"torch-gpu-setup/{__version__} (+requests {requests.__version__})"
    return session


# --------------------------------------------------------------------------- errors in words


class NetworkError(WizardError):
    """A network failure with a ``kind`` a program can branch on (``dns``, ``refused`` ...)."""

    def __init__(self, kind: str, message: str, hint: str = "", details: str = "",
                 status: int | None = None) -> None:
        super().__init__(message, hint, details)
        self.kind = kind
        self.status = status


def _host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return parts.hostname or url
    except ValueError:
        return url


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes/contexts and urllib3's ``reason`` objects, outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if any(cur is s for s in seen):
            continue
        seen.append(cur)
        for nxt in (getattr(cur, "reason", None), cur.__cause__, cur.__context__,
                    *[a for a in cur.args if isinstance(a, BaseException)]):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def classify_error(exc: BaseException, url: str, proxy: str | None = None) -> NetworkError:
    """Turn a requests/urllib3/socket exception into words for a person.

    ``url`` and ``proxy`` are shown redacted. The classification looks at the whole exception
    chain, because requests wraps the socket error two or three levels deep.
    """
    safe = redact_url(url)
    host = _host_of(url)
    chain = _chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)
    details = redact_url(text) if "@" in text else text
    if proxy:
        details = details.replace(proxy, redact_url(proxy))

    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "CERTIFICATE_VERIFY_FAILED" in text:
        issuer = peer_certificate_issuer(url)
        who = T(M.NET_TLS_ISSUER, issuer=issuer) if issuer else ""
        return NetworkError("tls", T(M.NET_TLS, host=host, who=who), hint=T(M.NET_TLS_HINT), details=details)
    if "407" in text and ("Proxy Authentication" in text or "Tunnel connection failed" in text):
        return proxy_auth_error(proxy, details)
    if isinstance(exc, requests.exceptions.ProxyError) or any(
        isinstance(e, requests.exceptions.ProxyError) for e in chain
    ):
        refused = any(isinstance(e, ConnectionRefusedError) for e in chain)
        where = redact_url(proxy or "") or T(M.NET_PROXY_FROM_ENV)
        return NetworkError("proxy", T(M.NET_PROXY_REFUSED if refused else M.NET_PROXY, proxy=where, host=host),
                            hint=T(M.NET_PROXY_HINT), details=details)
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in text \
            or "Name or service not known" in text or "getaddrinfo failed" in text:
        return NetworkError("dns", T(M.NET_DNS, host=host), hint=T(M.NET_DNS_HINT), details=details)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return NetworkError("refused", T(M.NET_REFUSED, host=host, url=safe), hint=T(M.NET_REFUSED_HINT),
                            details=details)
    if any(isinstance(e, (requests.exceptions.Timeout, TimeoutError)) for e in chain) \
            or "timed out" in text:
        return NetworkError("timeout", T(M.NET_TIMEOUT, host=host), hint=T(M.NET_TIMEOUT_HINT), details=details)
    if isinstance(exc, ssl.SSLError) or any(isinstance(e, ssl.SSLError) for e in chain):
        return NetworkError("tls", T(M.NET_TLS_FAILED, host=host), hint=T(M.NET_TRY_LATER), details=details)
    return NetworkError("connection", T(M.NET_LOST, host=host, error=type(exc).__name__), hint=T(M.NET_LOST_HINT),
                        details=details)


def proxy_auth_error(proxy: str | None, details: str = "") -> NetworkError:
    """The words for HTTP 407 from a proxy."""
    where = redact_url(proxy) if proxy else T(M.NET_THE_PROXY)
    return NetworkError("proxy-auth", T(M.NET_PROXY_AUTH, proxy=where), hint=T(M.NET_PROXY_AUTH_HINT),
                        details=details, status=407)


def page_limits(session: requests.Session) -> tuple[float, int]:
    """(total seconds, most bytes) for one small document read through ``session``."""
    config = getattr(session, "config", None)
    if isinstance(config, NetConfig):
        return config.page_deadline_s, config.page_max_bytes
    return PAGE_DEADLINE_S, PAGE_MAX_BYTES


def iter_body(resp: requests.Response, what: Text | str = "", *, deadline_s: float = PAGE_DEADLINE_S,
              max_bytes: int = PAGE_MAX_BYTES, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The body of a streamed response, piece by piece as it arrives, within a total deadline and size.

    ``read1`` hands over whatever one socket read returned (a plain ``read(n)`` would wait for n
    bytes), so the deadline is checked after every arrival however slow; the size counts the
    decoded bytes (a gzip body cannot inflate past the cap). Raises :class:`NetworkError`
    (``timeout`` / ``too-big``) in words.
    """
    url = resp.url or ""
    label = what if isinstance(what, Text) or not what else f"{what} "
    start = time.monotonic()
    received = 0
    read1 = getattr(resp.raw, "read1", None)
    while True:
        try:
            block = read1(chunk_size, decode_content=True) if read1 is not None \
                else resp.raw.read(chunk_size, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise classify_error(requests.exceptions.ConnectionError(exc), url) from None
        if not block:
            return
        received += len(block)
        if received > max_bytes:
            raise NetworkError("too-big", T(M.NET_TOO_BIG, what=label, host=_host_of(url),
                                            limit=format_bytes(max_bytes)),
                               hint=T(M.NET_TOO_BIG_HINT), details=redact_url(url))
        yield block
        elapsed = time.monotonic() - start
        if elapsed > deadline_s:
            raise NetworkError("timeout", T(M.NET_TOO_SLOW, what=label, host=_host_of(url),
                                            received=format_bytes(received), seconds=f"{elapsed:.0f}"),
                               hint=T(M.NET_TOO_SLOW_HINT), details=redact_url(url))


def get_document(session: requests.Session, url: str, what: Text | str = "",
                 headers: Mapping[str, str] | None = None) -> tuple[requests.Response, Iterator[bytes]]:
    """GET a small document: the checked response and its body as bounded pieces (:func:`iter_body`).

    Connection failures and error statuses become :class:`NetworkError` in words. The caller
    reads the pieces inside ``with resp:`` (or to the end) so the connection is released.
    """
    deadline_s, max_bytes = page_limits(session)
    try:
        resp = session.get(url, headers=dict(headers or {}), stream=True)
    except requests.RequestException as exc:
        raise classify_error(exc, url) from None
    try:
        check_response(resp, what)
    except NetworkError:
        resp.close()
        raise
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        resp.close()
        label = what if isinstance(what, Text) or not what else f"{what} "
        raise NetworkError("too-big", T(M.NET_TOO_BIG, what=label, host=_host_of(url), limit=format_bytes(max_bytes)),
                           hint=T(M.NET_TOO_BIG_HINT), details=redact_url(url))
    return resp, iter_body(resp, what, deadline_s=deadline_s, max_bytes=max_bytes)


def read_document(session: requests.Session, url: str, what: Text | str = "",
                  headers: Mapping[str, str] | None = None) -> tuple[requests.Response, bytes]:
    """GET a small document whole, within the deadline and size cap (:func:`get_document`)."""
    resp, body = get_document(session, url, what, headers)
    with resp:
        data = b"".join(body)
    return resp, data


def check_response(resp: requests.Response, what: str = "") -> None:
    """Raise a :class:`NetworkError` with words when ``resp`` is not a success."""
    status = resp.status_code
    if status < 400:
        return
    url = redact_url(resp.url or "")
    # what was asked for: a Text of messages.NET_WHAT_* (ends in a space), or a file name
    label = what if isinstance(what, Text) or not what else f"{what} "
    if status == 407:
        raise proxy_auth_error(None, details=f"{status} {resp.reason} for {url}")
    if status == 404:
        raise NetworkError("not-found", T(M.NET_NOT_FOUND, what=label, url=url), hint=T(M.NET_NOT_FOUND_HINT),
                           status=status)
    if status in (401, 403):
        raise NetworkError("forbidden", T(M.NET_FORBIDDEN, what=label, status=status, url=url),
                           hint=T(M.NET_FORBIDDEN_HINT), status=status)
    if status >= 500:
        raise NetworkError("server", T(M.NET_SERVER, status=status, reason=resp.reason, url=url),
                           hint=T(M.NET_SERVER_HINT), status=status)
    raise NetworkError("http", T(M.NET_HTTP, what=label, status=status, reason=resp.reason, url=url), status=status)


# --------------------------------------------------------------------------- who signed this certificate


def peer_certificate_issuer(url: str, timeout: float = 5.0) -> str | None:
    """The issuer (CN, else O) of the certificate ``url``'s server presents, or None.

    Diagnosis only: it opens a TLS handshake that does not verify, reads the leaf certificate
    and closes the socket without sending a single byte of HTTP. Nothing is ever downloaded over
    an unverified connection.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as sock, \
                probe.wrap_socket(sock, server_hostname=parts.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return der_issuer_name(der) if der else None


_OID_CN = bytes.fromhex("550403")   # 2.5.4.3 commonName (RFC 5280 §A.1)
_OID_O = bytes.fromhex("55040a")    # 2.5.4.10 organizationName


def _der_read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def der_issuer_name(der: bytes) -> str | None:
    """The issuer CN (else O) of a DER X.509 certificate; a minimal reader, None when unsure."""
    try:
        _, cert, _ = _der_read(der, 0)             # Certificate ::= SEQUENCE
        _, tbs, _ = _der_read(der, cert)           # tbsCertificate ::= SEQUENCE
        pos = tbs
        tag, _start, end = _der_read(der, pos)
        if tag == 0xA0:                            # [0] version, optional
            pos = end
        _, _, pos = _der_read(der, pos)            # serialNumber
        _, _, pos = _der_read(der, pos)            # signature AlgorithmIdentifier
        _, name, name_end = _der_read(der, pos)    # issuer Name ::= SEQUENCE OF SET OF AttributeTypeAndValue
        found: dict[bytes, str] = {}
        while name < name_end:
            _, set_start, set_end = _der_read(der, name)
            _, atv, _ = _der_read(der, set_start)
            _, oid_start, oid_end = _der_read(der, atv)
            _, val_start, val_end = _der_read(der, oid_end)
            found[der[oid_start:oid_end]] = der[val_start:val_end].decode("utf-8", "replace")
            name = set_end
        return found.get(_OID_CN) or found.get(_OID_O)
    except (IndexError, ValueError):
        return None
