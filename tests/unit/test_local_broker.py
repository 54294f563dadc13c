"""bin/setup's broker users (deploy.local.broker) and how bin/run hands them to the processes (deploy.local.up)."""
from __future__ import annotations

import json

import pytest

from deploy.local import broker, up
from deploy.local.processes import PROCESSES


@pytest.fixture
def passwords_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(broker, "PASSWORDS", tmp_path / "amqp")
    monkeypatch.delenv("AMQP_URI", raising=False)
    return tmp_path / "amqp"


def test_passwords_are_made_once_private_and_kept(passwords_dir):
    first = broker.ensure_passwords(passwords_dir)
    assert broker.ensure_passwords(passwords_dir) == first
    assert len(set(first.values())) == len(first) and all(len(password) >= 32 for password in first.values())
    assert {path.stat().st_mode & 0o777 for path in passwords_dir.glob("*.password")} == {0o600}
    assert passwords_dir.stat().st_mode & 0o777 == 0o700


def test_each_process_logs_in_as_its_own_user_once_the_users_are_imported(passwords_dir, monkeypatch):
    imported = []
    monkeypatch.setattr(broker, "import_definitions", lambda document, command=None: imported.append(document))
    assert broker.main([]) == 0 and len(imported) == 1 and broker.users_imported()
    logins = up.broker_logins(list(PROCESSES))
    assert set(logins) == {spec.name for spec in PROCESSES}
    points = logins["scoring-points"]
    assert points["AMQP_USER"] == "pb-scoring-points" and points["AMQP_VHOST"] == "partybuilding"
    assert (passwords_dir / "pb-scoring-points.password").samefile(points["AMQP_PASSWORD_FILE"])
    passwords = broker.ensure_passwords(passwords_dir)
    assert "pb-scoring-points" in {user["name"] for user in imported[0]["users"]}
    assert not any(password in json.dumps(imported[0]) for password in passwords.values())   # hashes only


def test_without_rabbitmqctl_set_up_says_so_and_the_processes_log_in_as_guest(passwords_dir, monkeypatch, capsys):
    def refused(document, command=None):
        raise broker.BrokerSetupError("rabbitmqctl not found")
    monkeypatch.setattr(broker, "import_definitions", refused)
    passwords_dir.mkdir()
    (passwords_dir / broker.IMPORTED).write_text("partybuilding\n")           # from an earlier set-up
    assert broker.main([]) == 0
    assert "rabbitmqctl not found" in capsys.readouterr().err and not broker.users_imported()
    assert up.broker_logins(list(PROCESSES)) == {}


def test_a_broker_of_its_own_is_left_to_its_operator(passwords_dir, monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://platform:secret@rabbitmq.example:5672/partybuilding")
    monkeypatch.setattr(broker, "import_definitions", lambda *args, **kwargs: pytest.fail("must not be called"))
    assert broker.main([]) == 0
    assert up.broker_logins(list(PROCESSES)) == {}
    assert broker.is_local_guest(None) and broker.is_local_guest("amqp://guest:guest@localhost:5672/")
    assert not broker.is_local_guest("amqp://guest:guest@rabbitmq.example:5672/")
