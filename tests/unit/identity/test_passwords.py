"""Password hashing and the bound on the hashing work of logins (passwords.HashGate)."""
import threading
import time

import pytest

from services.identity import passwords
from services.identity.passwords import GateFull, HashGate


def test_a_password_verifies_against_its_hash_and_an_unknown_account_never_does():
    stored = passwords.hash_password("Passw0rd!demo")
    assert passwords.verify_password(stored, "Passw0rd!demo")[0]
    assert not passwords.verify_password(stored, "wrong-password-1")[0]
    assert passwords.verify_password(None, "Passw0rd!demo") == (False, None)


def test_the_gate_refuses_beyond_those_running_and_waiting_and_admits_again_after():
    release, started = threading.Event(), threading.Semaphore(0)

    def held(function, *args):
        started.release()
        release.wait(10)
        return function(*args)

    gate = HashGate(running=1, waiting=1, offload=held)
    stored = passwords.hash_password("Passw0rd!demo")
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(gate.verify(stored, "Passw0rd!demo")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    assert started.acquire(timeout=10)          # one runs, the other waits for its turn
    deadline = time.monotonic() + 10
    while gate.admitted < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(GateFull):
        gate.verify(stored, "Passw0rd!demo")
    release.set()
    for thread in threads:
        thread.join(10)
    assert [matches for matches, _ in answers] == [True, True]
    assert gate.verify(stored, "Passw0rd!demo")[0]
