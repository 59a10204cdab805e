"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile)
and the rules a new password must meet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class PasswordError(ValueError):
    """A new password that does not meet the rules."""


def check_new(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")
    if len(set(password)) < 5:
        raise PasswordError("a password needs at least 5 different characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_new(password))


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; always does the work of one verification."""
    try:
        return _hasher.verify(stored or _DUMMY, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def generate() -> str:
    """A random password for a new account, shown once: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)
