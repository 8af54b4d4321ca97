"""Short descriptions of clients for people, such as "Firefox on Windows", from User-Agent headers.

This is a heuristic over the tokens that common browsers send, not a full parser: the
description helps people tell their sessions apart and is never used to make a decision.
"""

from __future__ import annotations

UNKNOWN_CLIENT = "Unknown client"
MAX_DESCRIPTION_LENGTH = 80

# (token in the header, browser name). Order matters: Edge and Opera also send "Chrome/",
# and Chrome also sends "Safari/", so the more specific tokens come first.
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)

# (token, operating system). iPhone and iPad user agents contain "like Mac OS X", and Android
# ones contain "Linux", so those come before macOS and Linux.
SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def _first_match(user_agent: str, table: tuple[tuple[str, str], ...]) -> str | None:
    for token, name in table:
        if token in user_agent:
            return name
    return None


def describe_client(user_agent: str) -> str:
    """Return "Browser on System", the product name of a non-browser client, or "Unknown client"."""
    user_agent = user_agent.strip()
    if not user_agent:
        return UNKNOWN_CLIENT
    browser = _first_match(user_agent, BROWSERS) if user_agent.startswith("Mozilla/") else None
    system = _first_match(user_agent, SYSTEMS)
    if browser is not None and system is not None:
        return f"{browser} on {system}"
    if browser is not None:
        return browser
    # Tools and libraries usually start with their product token, as in "curl/8.5.0".
    product = user_agent.split(None, 1)[0].split("/", 1)[0]
    if product and product != "Mozilla":
        return product[:MAX_DESCRIPTION_LENGTH]
    return f"Browser on {system}" if system is not None else UNKNOWN_CLIENT
