"""The one rule for turning content into a number: the first 8 bytes of its SHA-1, big-endian.

Splits (`fer.split_of`, `text_sentiment.split_of`), rankings, pairings and noise seeds are drawn from
these numbers, so they depend on nothing but the content and never on the process, the machine or the
order things were read in. Not for security.
"""

from __future__ import annotations

import hashlib


def sha1_int(value: bytes | str) -> int:
    """A 64-bit integer from bytes, or from a str's UTF-8 bytes."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return int.from_bytes(hashlib.sha1(data).digest()[:8], "big")


def hash_seed(*parts) -> int:
    """A 64-bit seed from the parts joined with ":" (noise and babble draws depend on nothing else)."""
    return sha1_int(":".join(map(str, parts)))
