"""Who may use the page: loopback binds are open to this machine only; LAN binds need a token.

Browsers are the threat on both: a page from another site can open a WebSocket to
127.0.0.1 (so the Origin must be this server), and a DNS-rebinding name can point at it
(so on loopback the Host must be a loopback name). On a LAN address anyone on the network
can reach the port, so every request also carries the token printed at start.
"""
from __future__ import annotations

import hmac
import io
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

TOKEN_COOKIE = "drumgan_token"
TOKEN_HEADER = "X-DrumGAN-Token"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for 0.0.0.0 (every interface), LAN IPs and names."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_token() -> str:
    return secrets.token_urlsafe(16)


def token_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; no token expected means open."""
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def host_name(host_header: str) -> str:
    """The host part of a Host header ('127.0.0.1:8000' -> '127.0.0.1', '[::1]:80' -> '::1')."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def loopback_host_header(host_header: str) -> bool:
    """A loopback server answers only to loopback names (defeats DNS rebinding)."""
    return is_loopback(host_name(host_header))


def origin_ok(origin: str | None, host_header: str) -> bool:
    """Same-origin: the page that opens the socket (or posts) was served by this host:port.
    No Origin header at all is a non-browser client (scripts, benchmarks): those cannot be
    driven by a foreign web page, and the token still applies to them."""
    if origin is None:
        return True
    try:
        o = urlsplit(origin)
    except ValueError:
        return False
    return o.scheme in ("http", "https") and o.netloc.lower() == host_header.strip().lower()


def lan_address() -> str:
    """This machine's address on the default route (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def qr_text(data: str) -> str:
    """A QR code of ``data`` as terminal text (segno), for a tablet's camera."""
    import segno
    buf = io.StringIO()
    segno.make(data, error="m").terminal(out=buf, compact=True, border=2)
    return buf.getvalue()
