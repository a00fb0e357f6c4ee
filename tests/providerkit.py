"""Signed sample events of each sending service, built from the services' documented formats,
and the local stand-ins for what cannot run here (AWS's SNS certificate host).

- Mailgun: `{"signature": {timestamp, token, signature}, "event-data": {...}}`, the signature a
  hex HMAC-SHA256 of timestamp + token under the signing key (Mailgun's "Securing Webhooks").
- SendGrid: a JSON list of events, signed with ECDSA P-256/SHA-256 over timestamp + body, in
  `X-Twilio-Email-Event-Webhook-Signature`/`-Timestamp` (SendGrid's "Event Webhook Security").
- SES: an SES notification (AWS's "Amazon SNS notification examples for Amazon SES") inside an
  SNS message signed as SNS signs (RSA PKCS#1 v1.5, SHA1 for SignatureVersion 1, SHA256 for 2,
  over the canonical string) with a locally made certificate, served over HTTPS by
  `CertificateHost` on 127.0.0.1 with a locally made CA: the stand-in for sns.<region>.amazonaws.com.
- Postmark: the Bounce, SpamComplaint and Delivery webhook bodies, behind HTTP basic auth.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"


# -- HTTP ------------------------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST `body`; (status, the JSON answer or {})."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    try:
        return status, json.loads(data or b"{}")
    except json.JSONDecodeError:
        return status, {"raw": data.decode(errors="replace")}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# -- Mailgun ---------------------------------------------------------------------------------


def mailgun_event(
    key: bytes,
    event: str,
    recipient: str,
    *,
    severity: str | None = None,
    reason: str = "generic",
    code: int = 550,
    message: str = "",
    event_id: str | None = None,
    message_id: str | None = None,
    timestamp: float | None = None,
    token: str | None = None,
) -> bytes:
    """A Mailgun webhook body (`failed`, `complained` or `delivered`), signed with `key`."""
    timestamp = time.time() if timestamp is None else timestamp
    stamp = str(int(timestamp))
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]  # 50 characters, as Mailgun's
    data: dict[str, Any] = {
        "event": event,
        "id": event_id or uuid.uuid4().hex[:22],
        "timestamp": timestamp,
        "log-level": "error" if event == "failed" else "info",
        "recipient": recipient,
        "recipient-domain": recipient.rpartition("@")[2],
        "envelope": {"sender": "bounces@mg.example.com", "transport": "smtp", "targets": recipient},
        "message": {
            "headers": {
                "to": recipient,
                "message-id": message_id or f"{uuid.uuid4().hex}@mg.example.com",
                "from": "news@example.com",
                "subject": "Our news",
            },
            "attachments": [],
            "size": 2048,
        },
    }
    if event == "failed":
        data["severity"] = severity or "permanent"
        data["reason"] = reason
        data["delivery-status"] = {
            "attempt-no": 1,
            "message": message,
            "code": code,
            "description": "",
            "session-seconds": 0.4,
        }
    if event == "delivered":
        data["delivery-status"] = {"attempt-no": 1, "message": "OK", "code": 250, "description": ""}
    signature = hmac.new(key, f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": stamp, "token": token, "signature": signature}, "event-data": data}).encode()


# -- SendGrid --------------------------------------------------------------------------------


class SendGridSigner:
    """An ECDSA key pair like the signed Event Webhook's; `public_key_text` is what SendGrid shows."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_text = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = self.private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }


def sendgrid_event(event: str, email: str, **fields: Any) -> dict[str, Any]:
    """One event of SendGrid's Event Webhook."""
    item: dict[str, Any] = {
        "email": email,
        "timestamp": int(time.time()),
        "smtp-id": f"<{uuid.uuid4().hex}@ismtpd0001p1lon1.sendgrid.net>",
        "event": event,
        "category": ["newsletter"],
        "sg_event_id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
        "sg_message_id": f"{uuid.uuid4().hex[:22]}.filterdrecv-5bd8d5c6b-2xkz8-1-5F5FC76C-9.0",
    }
    if event == "bounce":
        item.update({"type": "bounce", "status": "5.0.0", "reason": "500 unknown recipient", "bounce_classification": "Invalid Address"})
    if event == "deferred":
        item.update({"response": "400 try again later", "attempt": "5"})
    if event == "delivered":
        item.update({"response": "250 OK"})
    item.update(fields)
    return item


# -- Postmark --------------------------------------------------------------------------------


def postmark_bounce(email: str, bounce_type: str = "HardBounce", *, bounce_id: int | None = None, details: str = "") -> bytes:
    """A Postmark Bounce (or, with bounce_type SpamComplaint, SpamComplaint) webhook body."""
    record_type = "SpamComplaint" if bounce_type == "SpamComplaint" else "Bounce"
    return json.dumps(
        {
            "RecordType": record_type,
            "MessageStream": "outbound",
            "ID": bounce_id or int(uuid.uuid4().int % 10**10),
            "Type": bounce_type,
            "TypeCode": {"HardBounce": 1, "SoftBounce": 4096, "SpamComplaint": 512, "Transient": 2}.get(bounce_type, 1),
            "Name": bounce_type,
            "Tag": "newsletter",
            "MessageID": str(uuid.uuid4()),
            "ServerID": 23,
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": details or "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": email,
            "From": "news@example.com",
            "BouncedAt": dt.datetime.now(dt.timezone.utc).isoformat(),
            "DumpAvailable": True,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Our news",
        }
    ).encode()


def postmark_delivery(email: str) -> bytes:
    return json.dumps(
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": str(uuid.uuid4()),
            "Recipient": email,
            "Tag": "newsletter",
            "DeliveredAt": dt.datetime.now(dt.timezone.utc).isoformat(),
            "Details": "Test delivery webhook details",
            "Metadata": {},
        }
    ).encode()


# -- SES through SNS -------------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False, ip: str | None = None):
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class CertificateHost:
    """An HTTPS server on 127.0.0.1 standing in for sns.<region>.amazonaws.com: it serves the
    SNS signing certificate and takes SubscribeURL confirmations (recorded in `confirmed`)."""

    def __init__(self, directory: Path) -> None:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = _certificate("bouncewatch test CA", ca_key, _name("bouncewatch test CA"), ca_key, ca=True)
        server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        server = _certificate("127.0.0.1", server_key, ca.subject, ca_key, ip="127.0.0.1")
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signing = _certificate("sns.amazonaws.com", self.signing_key, ca.subject, ca_key)
        self.ca_file = directory / "sns-ca.pem"
        self.ca_file.write_bytes(_pem(ca))
        (directory / "sns-server.pem").write_bytes(_pem(server) + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ))
        self.certificate_pem = _pem(signing)
        self.confirmed: list[str] = []
        self.certificate_requests = 0
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.endswith(".pem"):
                    host.certificate_requests += 1
                    body = host.certificate_pem
                else:
                    host.confirmed.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "sns-server.pem")
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def cert_url(self) -> str:
        return f"https://{self.host}/SimpleNotificationService-0000000000000000000000.pem"

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """`message` with SignatureVersion, SigningCertURL and Signature as SNS adds them."""
        fields = {
            "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
            "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
        }[message["Type"]]
        canonical = "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.signing_key.sign(canonical.encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": self.cert_url,
            "UnsubscribeURL": f"https://{self.host}/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1",
        }


def sns_notification(ses_message: dict[str, Any], topic: str = TOPIC, message_id: str | None = None) -> dict[str, Any]:
    """An unsigned SNS Notification carrying an SES notification."""
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(ses_message),
        "Timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }


def sns_subscription(host: CertificateHost, topic: str = TOPIC) -> dict[str, Any]:
    token = uuid.uuid4().hex * 2
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": f"https://{host.host}/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}",
        "Timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }


def _mail(destination: list[str]) -> dict[str, Any]:
    return {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
        "source": "john@example.com",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId": "123456789012",
        "messageId": f"0000014{uuid.uuid4().hex[:9]}-{uuid.uuid4()}-000000",
        "destination": destination,
        "headersTruncated": False,
        "commonHeaders": {"from": ["John Doe <john@example.com>"], "to": destination, "messageId": f"<{uuid.uuid4().hex}@example.com>", "subject": "Hello"},
    }


def ses_bounce(recipients: list[str], bounce_type: str = "Permanent", subtype: str = "General", status: str = "5.1.1", diagnostic: str = "smtp; 550 5.1.1 user unknown") -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [
                {"emailAddress": r, "action": "failed", "status": status, "diagnosticCode": diagnostic} for r in recipients
            ],
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
            "feedbackId": f"00000138111222aa-{uuid.uuid4()}-000000",
            "reportingMTA": "dns; email.example.com",
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": _mail(recipients),
    }


def ses_complaint(recipients: list[str]) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": r} for r in recipients],
            "complaintFeedbackType": "abuse",
            "arrivalDate": dt.datetime.now(dt.timezone.utc).isoformat(),
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
            "feedbackId": f"000001378603177f-{uuid.uuid4()}-000000",
        },
        "mail": _mail(recipients),
    }


def ses_delivery(recipients: list[str]) -> dict[str, Any]:
    return {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
            "processingTimeMillis": 546,
            "recipients": recipients,
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": _mail(recipients),
    }
