"""Who may see the inspector: the ``inspector`` setting applied to one caller, as pure decisions.

Owns: ``Access`` (the setting parsed once: loopback, off, any, or loopback plus a list of
addresses and networks), whether a caller's address may open the page and its data, the
``Host`` check that keeps a web page elsewhere from reading a loopback inspector through DNS
rebinding, and the check that a state-changing request (re-send) comes from the page itself
and not from another site's form. Must not import aiohttp or do I/O: the inspector's
handlers (``runtime.http.inspector``) pass plain values in.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from runtime.settings import inspector_networks, inspector_served

# The header the page's own script sends with a re-send: a cross-site form cannot set it, and a
# cross-site script that tries needs a CORS preflight, which the inspector never grants.
PAGE_HEADER = "X-Atlas-Fn-Inspector"


class Access(NamedTuple):
    mode: str  # "loopback", "off", "any", or "list"
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_setting(cls, value: str) -> "Access":
        networks = inspector_networks(value)
        return cls("list" if networks else value, networks)

    @property
    def served(self) -> bool:
        return inspector_served(self.mode)

    def allows(self, remote: str) -> bool:
        """May a caller at ``remote`` (the connection's peer address, "" for none) see the inspector?"""
        if self.mode == "any":
            return True
        if self.mode == "off":
            return False
        address = _address(remote)
        if address is None:
            return False
        if address.is_loopback:
            return True
        return any(address.version == net.version and address in net for net in self.networks)

    def refusal(self, remote: str) -> str:
        """The message a refused caller gets: who it is, the rule, and what would allow it."""
        rule = ("loopback callers only" if self.mode == "loopback"
                else "loopback callers and " + ", ".join(str(n) for n in self.networks))
        return (f"the inspector (/_atlas-fn/) is served to {rule}; this request came from {remote or 'an unknown address'}; "
                "allowed: start atlas-fn serve with --inspector any, or with --inspector set to a list of addresses "
                "that includes the caller")

    def host_allowed(self, host: str) -> bool:
        """In loopback mode, the request's ``Host`` must name this machine (``localhost`` or a
        loopback address, any port): a page on another site whose name was rebound to 127.0.0.1
        sends its own name and is refused. Other modes serve other hosts by choice."""
        if self.mode != "loopback":
            return True
        name = _host_name(host)
        if name == "localhost" or name.endswith(".localhost"):
            return True
        address = _address(name)
        return address is not None and address.is_loopback


def same_page(origin: str | None, host: str, page_header: str | None) -> bool:
    """A re-send is the page's own: it carries ``PAGE_HEADER``, and its ``Origin`` (when the
    browser sends one) is this server's (``http://`` + ``Host``)."""
    if not page_header:
        return False
    return origin is None or origin in (f"http://{host}", f"https://{host}")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is IPv4's loopback on a dual-stack socket
    return address


def _host_name(host: str) -> str:
    """``Host`` without its port: ``[::1]:8080`` -> ``::1``, ``localhost:80`` -> ``localhost``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host
