"""Invite tokens for Telegram deep links: pure functions, no I/O.

A deep-link payload holds at most 64 characters of A-Z a-z 0-9 _ - (Bot API), which is exactly
base64url without padding. The token carries a version byte, the invite row id and the expiry,
and an HMAC-SHA256 over them truncated to 128 bits: 29 bytes, 39 characters. The scope is not in
the token: it stays in the invite row, so a token reveals nothing and a single use is enforced by
the database, not by the token.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = 1
_BODY = struct.Struct(">BQI")           # version, invite id, expiry (unix seconds)
MAC_BYTES = 16
TOKEN_BYTES = _BODY.size + MAC_BYTES    # 29
MAX_PAYLOAD = 64                        # Telegram's limit for ?start= / ?startgroup=
_ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KDF_SALT = b"salespulse invite tokens v1"


class TokenError(ValueError):
    """`kind` is 'forged' (not ours, altered, malformed) or 'expired'."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class InviteToken:
    invite_id: int
    expires_at: datetime


def derive_secret(bot_token: str) -> bytes:
    """A secret of its own from the bot token (HKDF-SHA256, RFC 5869, one block), so invites
    work without INVITE_SECRET; rotating the bot token then invalidates every open invite."""
    prk = hmac.new(_KDF_SALT, bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(prk, b"invite-mac" + b"\x01", hashlib.sha256).digest()


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]


def make_token(secret: bytes, invite_id: int, expires_at: datetime) -> str:
    body = _BODY.pack(VERSION, invite_id, int(expires_at.timestamp()))
    token = base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode()
    assert len(token) <= MAX_PAYLOAD
    return token


def read_token(secret: bytes, token: str, now: datetime) -> InviteToken:
    """The invite a token names; TokenError('forged') unless it is ours and intact,
    TokenError('expired') from its expiry second on."""
    if not _ALPHABET.fullmatch(token or ""):
        raise TokenError("forged")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise TokenError("forged") from None
    # Canonical encoding only: the last character has spare bits, and a token that differs
    # from ours in any character must not pass as ours.
    if len(raw) != TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise TokenError("forged")
    body, mac = raw[:_BODY.size], raw[_BODY.size:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise TokenError("forged")
    version, invite_id, expiry = _BODY.unpack(body)
    if version != VERSION:
        raise TokenError("forged")
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if now >= expires_at:
        raise TokenError("expired")
    return InviteToken(invite_id, expires_at)
