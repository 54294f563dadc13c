"""A TOTP code for tests, as an authenticator app would show it."""
from __future__ import annotations

import time

from services.identity.domain import totp


def code(secret: str, offset: int = 0) -> str:
    """The code of now's step plus ``offset`` (within the ±1 window the service accepts). Close to the end of a
    step it first waits for the next one, so that the steps a test reasons about do not move under it."""
    left = totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS
    if left < 3:
        time.sleep(left + 0.05)
    return totp.hotp(totp.secret_bytes(secret), totp.step_of(time.time()) + offset)
