"""Amazon SNS messages over HTTP(S): the signature check, the signing certificate, subscriptions.

A message is checked before anything in it is used: its `SigningCertURL` must be https on an
`sns.<region>.amazonaws.com` host (or one listed in `certificate_hosts`, for tests and private
mirrors); the certificate is fetched from there over verified TLS and cached by URL; the
signature (base64, RSA PKCS#1 v1.5 over the canonical string: SHA1 for SignatureVersion 1,
SHA256 for 2) must verify under the certificate's key. Only then is a SubscriptionConfirmation
confirmed, by fetching its `SubscribeURL` (held to the same hosts).
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
import threading
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .events import Refused, load_json, text

AWS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The fields signed, in order, per message type (absent optional ones are left out).
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERTIFICATE_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 10
CACHED_CERTIFICATES = 16


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical text SNS signs: "Name\\nvalue\\n" for each signed field present, in order."""
    lines = []
    for name in _SIGNED[message["Type"]]:
        if name == "Subject" and message.get(name) is None:
            continue
        lines.append(f"{name}\n{text(message.get(name), 1_000_000)}\n")
    return "".join(lines).encode()


def allowed_url(url: str, extra_hosts: Sequence[str]) -> bool:
    """An https URL on an SNS host of AWS (or one of `extra_hosts`, "host" or "host:port")."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.lower()
    if port is None and AWS_HOST.match(host):
        return True
    named = f"{host}:{port}" if port is not None else host
    return named in {h.lower() for h in extra_hosts}


class Fetcher:
    """GETs over verified TLS from the allowed hosts only: certificates (cached), SubscribeURLs."""

    def __init__(self, extra_hosts: Sequence[str] = (), ca_file: Path | None = None) -> None:
        self.extra_hosts = tuple(extra_hosts)
        self.ca_file = ca_file
        self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._context), _NoRedirect()
        )
        self._certificates: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches = 0  # certificate downloads, for tests and logs

    def get(self, url: str, limit: int) -> bytes:
        if not allowed_url(url, self.extra_hosts):
            raise Refused("bad_signature", f"{urlsplit(url).hostname or url!r} is not an SNS host of AWS", 403)
        try:
            with self._opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
                data = response.read(limit + 1)
        except (OSError, ValueError) as exc:
            raise Refused("certificate_unavailable", f"cannot fetch {url}: {exc}", 503) from None
        if len(data) > limit:
            raise Refused("certificate_unavailable", f"{url}: larger than {limit} bytes", 503)
        return data

    def certificate(self, url: str) -> x509.Certificate:
        with self._lock:
            cached = self._certificates.get(url)
            if cached is not None:
                self._certificates.move_to_end(url)
                return cached
        data = self.get(url, MAX_CERTIFICATE_BYTES)
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise Refused("bad_signature", f"{url}: not a PEM certificate", 403) from None
        with self._lock:
            self.fetches += 1
            self._certificates[url] = certificate
            while len(self._certificates) > CACHED_CERTIFICATES:
                self._certificates.popitem(last=False)
        return certificate


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the allowed hosts: none is followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def parse(body: bytes) -> dict[str, Any]:
    message = load_json(body, dict, "an SNS message (a JSON object)")
    if message.get("Type") not in TYPES:
        raise Refused("malformed", f"not an SNS message (Type must be one of {', '.join(TYPES)})")
    for name in ("MessageId", "TopicArn", "Signature", "SigningCertURL", "Timestamp"):
        if not isinstance(message.get(name), str) or not message[name]:
            raise Refused("malformed", f"{name}: missing")
    return message


def verify(message: dict[str, Any], fetcher: Fetcher) -> None:
    """Refused("bad_signature") unless the message is signed by the SNS certificate it names."""
    version = text(message.get("SignatureVersion"), 4)
    if version not in _HASHES:
        raise Refused("bad_signature", f"SignatureVersion {version!r}: only 1 and 2 are known", 403)
    url = message["SigningCertURL"]
    if not allowed_url(url, fetcher.extra_hosts):
        raise Refused("bad_signature", f"SigningCertURL {url!r} is not an https URL on an SNS host of AWS", 403)
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise Refused("bad_signature", "Signature: not base64", 403) from None
    key = fetcher.certificate(url).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("bad_signature", "the signing certificate has no RSA key", 403)
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature:
        raise Refused("bad_signature", "the signature does not match the signing certificate", 403) from None


def confirm(message: dict[str, Any], fetcher: Fetcher) -> None:
    """Confirm a (verified) SubscriptionConfirmation by fetching its SubscribeURL."""
    url = text(message.get("SubscribeURL"), 4096)
    if not url:
        raise Refused("malformed", "SubscribeURL: missing")
    fetcher.get(url, MAX_CERTIFICATE_BYTES)
