"""Password and token hashing.

Passwords: scrypt (hashlib, a memory-hard KDF) with N=2**14, r=8, p=1
(16 MiB of memory and about 0.1 s per check on one core), a 16-byte random salt
and a 32-byte key, stored as `scrypt$N$r$p$<salt hex>$<key hex>` so the
parameters can be raised later without breaking stored hashes.

Tokens: 32 random bytes (`cl_` + url-safe base64); only a blake3 digest of
each is stored.  A token has 256 bits of entropy, so a fast hash is enough
and a lookup by digest is exact."""

import hashlib
import hmac
import secrets

from cl.objects.ids import hash_bytes

N, R, P, KEY = 1 << 14, 8, 1, 32
MAXMEM = 64 << 20


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY, maxmem=MAXMEM)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(key) // 2, maxmem=MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), key)


def new_token() -> str:
    return "cl_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return str(hash_bytes(token.encode()))
