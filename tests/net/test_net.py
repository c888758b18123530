"""Network words: DNS, refused, timeout, 407, proxy use, TLS interception, redaction."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.net.server import LoopbackProxy, LoopbackServer, closed_port, make_wheel, publish
from wizard.core.fetch.index import IndexClient
from wizard.core.fetch.net import (
    MIRROR_PRESETS,
    NetConfig,
    NetworkError,
    ca_bundle_from_env,
    classify_error,
    der_issuer_name,
    make_session,
    redact_url,
)


def _get(url: str, config: NetConfig | None = None) -> NetworkError:
    session = make_session(config or NetConfig(timeout=(2.0, 2.0)))
    try:
        resp = session.get(url)
    except requests.RequestException as exc:
        return classify_error(exc, url, (config.proxy if config else None))
    raise AssertionError(f"expected a failure, got {resp.status_code}")


def test_dns_failure_words() -> None:
    err = _get("http://no-such-host.invalid/whl/cu126/torch/")
    assert err.kind == "dns"
    assert err.message == "DNS failure: the name no-such-host.invalid could not be resolved"


def test_connection_refused_words() -> None:
    err = _get(f"http://127.0.0.1:{closed_port()}/whl/")
    assert err.kind == "refused" and err.message.startswith("connection refused by 127.0.0.1")


def test_timeout_words(server: LoopbackServer) -> None:
    server.add("/slow", b"x" * 10)
    server.fault("/slow", stall=2.0)
    session = make_session(NetConfig(timeout=(2.0, 0.3)))
    with pytest.raises(requests.RequestException) as exc:
        resp = session.get(server.url("/slow"))
        resp.content  # noqa: B018 - the body read is what times out
    err = classify_error(exc.value, server.url("/slow"))
    assert err.kind == "timeout" and err.message.startswith("timeout: 127.0.0.1 did not answer")


def test_explicit_proxy_is_used_and_wins_over_the_environment(server: LoopbackServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    publish(server, "/whl/cpu", [make_wheel("torch", "2.13.0+cpu", "py3-none-any")])
    with LoopbackProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")   # would fail if used
        client = IndexClient(server.url("/whl/cpu"), make_session(NetConfig(proxy=proxy.url)))
        assert client.project_files("torch")
        assert proxy.seen == [server.url("/whl/cpu/torch/")]


def test_environment_proxy_is_honoured(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add("/ping", b"pong")
    with LoopbackProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert make_session().get(server.url("/ping")).content == b"pong"
        assert proxy.seen == [server.url("/ping")]


def test_407_words_and_credentials_never_in_the_message(server: LoopbackServer) -> None:
    publish(server, "/whl/cpu", [make_wheel("torch", "2.13.0+cpu", "py3-none-any")])
    with LoopbackProxy(credentials=("alice", "s3cret")) as proxy:
        bad = proxy.url.replace("http://", "http://alice:wrong@")
        with pytest.raises(NetworkError) as err:
            IndexClient(server.url("/whl/cpu"), make_session(NetConfig(proxy=bad))).project_files("torch")
        assert err.value.kind == "proxy-auth"
        assert err.value.message.startswith("proxy authentication required (407)")
        assert "wrong" not in err.value.one_line() + err.value.details
        good = proxy.url.replace("http://", "http://alice:s3cret@")
        assert IndexClient(server.url("/whl/cpu"), make_session(NetConfig(proxy=good))).project_files("torch")


def test_404_and_500_words(server: LoopbackServer) -> None:
    with pytest.raises(NetworkError, match=r"not found at the index \(404\)"):
        IndexClient(server.url("/nothing.html"), kind="find-links").project_files("torch")
    server.add("/whl/cu126/torch/", b"<html></html>", "text/html")
    server.fault("/whl/cu126/torch/", status=503)
    with pytest.raises(NetworkError, match=r"server error \(503"):
        IndexClient(server.url("/whl/cu126")).project_files("torch")


def test_redact_url() -> None:
    assert redact_url("http://bob:pw@proxy.corp:3128") == "http://***@proxy.corp:3128"
    assert redact_url("https://download.pytorch.org/whl") == "https://download.pytorch.org/whl"


def test_ca_bundle_order() -> None:
    env = {"SSL_CERT_FILE": "/c", "PIP_CERT": "/a", "REQUESTS_CA_BUNDLE": "/b"}
    assert ca_bundle_from_env(env) == "/a"
    assert ca_bundle_from_env({"SSL_CERT_FILE": "/c"}) == "/c"
    assert ca_bundle_from_env({}) is None


def test_mirror_presets_say_their_url_pattern() -> None:
    assert MIRROR_PRESETS["official"].variant_url("cu126") == "https://download.pytorch.org/whl/cu126/"
    assert {p.kind for p in MIRROR_PRESETS.values()} == {"index", "find-links"}
    assert all(p.base.startswith("https://") and p.source for p in MIRROR_PRESETS.values())


# --------------------------------------------------------------------------- TLS interception


@pytest.fixture
def intercepting_tls_server(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 whose certificate comes from an untrusted 'corporate' CA."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/O=Contoso Corp/CN=Contoso Inspection CA",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/whl/cu126/torch/"
    httpd.shutdown()
    httpd.server_close()


def test_tls_interception_names_the_issuer_and_never_downloads(intercepting_tls_server: str) -> None:
    err = _get(intercepting_tls_server, NetConfig(timeout=(3.0, 3.0), ca_bundle=None, trust_env=False))
    assert err.kind == "tls"
    assert err.message.startswith("TLS interception:")
    assert "issued by 'Contoso Inspection CA'" in err.message


def test_der_issuer_name_falls_back_to_organisation(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    pem = tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(pem), "-days", "1", "-subj", "/O=Only Org Ltd"], check=True, capture_output=True)
    assert der_issuer_name(ssl.PEM_cert_to_DER_cert(pem.read_text())) == "Only Org Ltd"
    assert der_issuer_name(b"\x30\x03garbage") is None
