"""Who a browser is: sessions held in the server's memory, named by an
unguessable id in a cookie, each with its own CSRF token.

* The session cookie is HttpOnly and SameSite=Lax, and Secure when the
  request came over https (directly, or through a proxy: config
  `server.behind_proxy`, whose X-Forwarded-Proto is believed from the
  addresses in `server.proxy_ips`).
* Every request that changes something carries the session's CSRF token
  (a form field `csrf` or the `X-CSRF-Token` header); the sign-in form,
  which has no session yet, carries the token of a pre-session cookie
  (`cl_presession`) that the form page set -- so another site can neither
  act as a signed-in person nor sign a browser in as someone else.
* A session names only the user: each request asks the permission
  database afresh, so a removed user or a changed permission takes effect
  at once.  Sessions end at sign-out, after MAX_AGE, or when the server
  stops."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "cl_session"
PRE_COOKIE = "cl_presession"
MAX_AGE = 12 * 3600
MAX_SESSIONS = 100_000


@dataclass(frozen=True)
class Session:
    sid: str
    user: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self):
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, user: str) -> Session:
        s = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), time.time() + MAX_AGE)
        with self._lock:
            if len(self._by_id) >= MAX_SESSIONS:
                self._expire()
            self._by_id[s.sid] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._by_id.get(sid)
            if s is not None and s.expires < time.time():
                del self._by_id[sid]
                s = None
        return s

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _expire(self) -> None:
        now = time.time()
        for sid in [k for k, s in self._by_id.items() if s.expires < now]:
            del self._by_id[sid]


def same(given: str | None, expected: str | None) -> bool:
    """Whether a CSRF token matches (in constant time)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_header(name: str, value: str, secure: bool, max_age: int | None = MAX_AGE) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure on https."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
