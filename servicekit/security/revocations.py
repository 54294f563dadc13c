"""The sessions and accounts whose access tokens are cut off before they expire, as the gateway holds them.

Identity records each revocation (logout, a revoked session, a password change or reset, a disabled or removed
account) and answers ``revocations_since(cursor)``; the gateway polls it (``gateway.revocations``) and feeds the
answers here. A token is refused when its session (``sid``) is revoked, or when its account was cut off after the
second the token was issued in (``iat``): a token issued after the account was enabled again is good. (A cut-off
account's sessions are revoked too; the account entry covers tokens that name no session.) Each id is
kept until every token it covers has expired.

``check`` runs for every authenticated request, a scan too: two dict lookups, no lock (the dicts are replaced
whole, never changed in place, so a reader sees one or the other).
"""
from __future__ import annotations

import time
from typing import Callable

from servicekit.errors import Unauthenticated


class RevocationList:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._sessions: dict[str, float] = {}                 # session id -> until (epoch seconds)
        self._accounts: dict[str, tuple[int, float]] = {}     # account id -> (cut off at, until)

    def check(self, session_id, account_id, issued_at) -> None:
        """Raise ``TOKEN_REVOKED`` for a token of a revoked session or of an account cut off since it was issued."""
        if session_id in self._sessions:
            raise Unauthenticated("登录已失效，请重新登录", code="TOKEN_REVOKED")
        cut = self._accounts.get(account_id)
        if cut is not None and issued_at < cut[0]:
            raise Unauthenticated("登录已失效，请重新登录", code="TOKEN_REVOKED")

    def apply(self, answer: dict) -> None:
        """Take in one answer of ``identity.revocations_since`` and forget what has expired."""
        now = self.clock()
        sessions = {session_id: until for session_id, until in self._sessions.items() if until > now}
        for entry in answer.get("sessions") or ():
            if entry["until"] > now:
                sessions[entry["id"]] = max(entry["until"], sessions.get(entry["id"], 0))
        accounts = {account_id: cut for account_id, cut in self._accounts.items() if cut[1] > now}
        for entry in answer.get("accounts") or ():
            if entry["until"] > now:
                held = accounts.get(entry["id"])
                accounts[entry["id"]] = (max(entry["cut_at"], held[0]) if held else entry["cut_at"],
                                         max(entry["until"], held[1]) if held else entry["until"])
        self._sessions, self._accounts = sessions, accounts

    def __len__(self) -> int:
        return len(self._sessions) + len(self._accounts)
