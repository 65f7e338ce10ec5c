"""URL normalisation, so that the same article is never stored twice under two spellings."""

from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

# Parameters that identify a campaign or a click, not a document.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ocid", "cmpid", "smid", "ito", "ns_mchannel",
        "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "at_medium", "at_campaign",
        "at_custom1", "at_custom2", "at_custom3", "at_custom4", "ref_src", "ref_url",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_")
# X/Twitter adds `s` and `t` to every shared link; elsewhere they may be real parameters.
SHARE_PARAMETERS = {"twitter.com": {"s", "t"}, "x.com": {"s", "t"}}
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str, host: str) -> bool:
    lowered = name.lower()
    if lowered in SHARE_PARAMETERS.get(host.removeprefix("www.").removeprefix("mobile."), ()):
        return True
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop the default port, the fragment and tracking parameters.

    Path and the remaining query are kept byte for byte: they are case-sensitive on most servers.
    """
    url = url.strip()
    if not url:
        return url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    if parts.username:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        host = f"{credentials}@{host}"
    hostname = (parts.hostname or "").lower()
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not is_tracking(pair.split("=", 1)[0], hostname)
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def validate_url(value: str) -> None:
    """Some strings cannot be split as URLs (a port above 65535): an error, not a crash."""
    try:
        normalise_url(value)
    except ValueError as error:
        raise ValidationError(f"Enter a valid URL ({error}).") from None
