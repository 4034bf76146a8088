"""Password policy: long passphrases welcome, short or common passwords refused.

Follows NIST SP 800-63B: length over composition rules, a blocklist, no forced symbols.
"""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 1024


def policy_problems(password: str, *, username: str = "", blocklist: frozenset[str] = frozenset()) -> list[str]:
    """Sentences saying why a password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"use at least {MIN_LENGTH} characters (a passphrase of several words is best)")
    if len(password) > MAX_LENGTH:
        problems.append(f"use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in blocklist or lowered.replace(" ", "") in blocklist:
        problems.append("this password is too common; choose another")
    elif len(set(password)) < 4:
        problems.append("use more than a few distinct characters")
    if username and len(username) >= 3 and username.lower() in lowered:
        problems.append("do not include your user name")
    return problems
