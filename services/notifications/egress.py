"""Where a webhook may go (SSRF guard). Partners choose the URLs this service calls,
so a URL must not lead inside our network: no loopback, private, link-local (the
cloud metadata address), CGNAT, multicast, reserved or unspecified address, whether
written as an IP (in any form the resolver accepts, 2130706433 or 0x7f.1 included)
or reached through a name. Checked at registration and again at every delivery,
whose connection goes to the address checked then (a name that resolves elsewhere
a moment later, DNS rebinding, is never asked again)."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")   # well-known prefix: the IPv4 address is in the last 32 bits
REFUSED_PRIVATE = "refused: private address"


class UnsafeUrl(ValueError):
    """Why a URL may not be called; the message is safe to show the partner."""


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False                  # local runs: plain http
    allow_private: bool = False               # local runs and tests: 127.0.0.1 receivers
    ports: frozenset | None = frozenset({443, 8443})   # None: any port


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (never resolve ``host`` again), send
    ``host`` as Host header and TLS server name."""
    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        return name if self.port == default else f"{name}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if embedded is not None:
            return is_public(str(embedded))
    if ip.version == 4 and ip in CGNAT:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                 or ip.is_loopback or ip.is_link_local or ip.is_private)


def ip_literal(host: str) -> str | None:
    """The address a host names by itself, in any form the resolver would accept
    (inet_aton reads 2130706433, 0x7f.1 and 017700000001 as 127.0.0.1)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def parse(url: str, policy: Policy) -> tuple[str, str, int, str]:
    """scheme, host, port, path?query of a URL this service may call, or UnsafeUrl."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise UnsafeUrl("must not contain whitespace, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise UnsafeUrl("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not contain credentials")
    try:
        port = parts.port or {"http": 80, "https": 443}[scheme]
    except ValueError:
        raise UnsafeUrl("has an invalid port") from None
    if not parts.hostname:
        raise UnsafeUrl("must name a host")
    if policy.ports is not None and port not in policy.ports:
        raise UnsafeUrl(f"port must be one of {', '.join(map(str, sorted(policy.ports)))}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname.rstrip("."), port, path


def check(url: str, policy: Policy, resolve=system_resolver) -> Target:
    """Resolve once and check every address: one private answer among public ones
    refuses the URL (the client could pick any of them)."""
    scheme, host, port, path = parse(url, policy)
    literal = ip_literal(host)
    try:
        addresses = [literal] if literal else resolve(host, port)
    except OSError:
        raise UnsafeUrl("host does not resolve") from None
    if not addresses:
        raise UnsafeUrl("host does not resolve")
    if not policy.allow_private and not all(is_public(a) for a in addresses):
        raise UnsafeUrl("must not lead to a private, loopback, link-local or reserved address")
    return Target(scheme, literal or host, port, path, addresses[0])
