"""A stand-in RFC 3161 time-stamping service on 127.0.0.1 for tests and the demo plant (PDF-04).

It answers `application/timestamp-query` POSTs with pyHanko's test time stamper, under its own throw-away root
(RSA, because that stamper signs with RSA only). Never a production TSA: it stamps whatever it is asked.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import tsp  # type: ignore[import-untyped]  # asn1crypto ships no type information
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
from pyhanko.sign.timestamps import DummyTimeStamper

from ebr.adapters.pki.pades import certificate_store

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY_BYTES = 64 * 1024


class LocalTsa:
    """start() / stop() / url; trust `root_certificate_pem()` to validate its time stamps."""

    def __init__(self, port: int = 0) -> None:
        root_key, root = _root()
        tsa_key, tsa_cert = _tsa_certificate(root_key, root)
        self._root = root
        self._stamper = DummyTimeStamper(
            tsa_cert=translate_pyca_cryptography_cert_to_asn1(tsa_cert),
            tsa_key=translate_pyca_cryptography_key_to_asn1(tsa_key),
            certs_to_embed=certificate_store([translate_pyca_cryptography_cert_to_asn1(root)]),
        )
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to POST time-stamp queries (valid once started)."""
        if self._server is None:
            raise RuntimeError("the time-stamping service is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def root_certificate_pem(self) -> str:
        """The trust anchor of this service's time stamps."""
        return self._root.public_bytes(serialization.Encoding.PEM).decode()

    def start(self) -> LocalTsa:
        """Listen on 127.0.0.1 in a background thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self._stamper))
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-tsa", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    def __enter__(self) -> LocalTsa:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _handler(stamper: DummyTimeStamper) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get_content_type() != QUERY_TYPE or not 0 < length <= MAX_QUERY_BYTES:
                self.send_error(400, "expected an RFC 3161 time-stamp query")
                return
            try:
                query = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = stamper.request_tsa_response(query).dump()
            except ValueError:
                self.send_error(400, "malformed time-stamp query")
                return
            self.send_response(200)
            self.send_header("Content-Type", REPLY_TYPE)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:  # the base class names it so
            """Quiet: a test run or the demo console should not print a line per time stamp."""

    return Handler


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _root() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("eBR local time-stamping root"))
        .issuer_name(_name("eBR local time-stamping root"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _tsa_certificate(root_key: rsa.RSAPrivateKey, root: x509.Certificate) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("eBR local time-stamping service"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        # RFC 3161 §2.3: the one extended key usage, critical
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
