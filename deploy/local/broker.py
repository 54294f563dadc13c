"""The broker's users on this machine: ``bin/setup`` runs ``python -m deploy.local.broker``.

For the local RabbitMQ (AMQP_URI unset, or ``guest`` at 127.0.0.1/localhost) it creates the platform's virtual host
``partybuilding``, one user per process with the permissions of ``servicekit.messaging.broker_access`` and the
event topology, in one ``rabbitmqctl import_definitions``. Each user's password is generated once and kept under
``var/keys/amqp/<user>.password`` (0600), like the other local keys; ``bin/run`` gives each process its own
(``login_settings``). Running it again imports the same definitions, which changes nothing. Where rabbitmqctl
cannot be used (a broker in a container) it says so and ``bin/run`` logs every process in as guest.

``python -m deploy.local.broker --print-definitions`` prints the document (password hashes, no passwords) for a
broker set up by other means, e.g. the RabbitMQ Cluster Operator's ``load_definitions`` (deploy/k8s/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from servicekit.messaging.broker_access import BROKER_USERS, USER_PREFIX, VHOST, broker_user, definitions, user_name
from servicekit.messaging.topology import DEAD_LETTER_QUEUE
from servicekit.process.config import LOCAL_BROKER_HOSTS

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = ROOT / "var" / "keys" / "amqp"
IMPORTED = "imported"        # in PASSWORDS: the users are on the local broker (bin/run logs each process in as its own)


class BrokerSetupError(RuntimeError):
    pass


def is_local_guest(uri: str | None) -> bool:
    """Whether ``uri`` (AMQP_URI; None when unset) is the local developer broker that set-up manages."""
    if not uri:
        return True
    parts = urlsplit(uri.split(";")[0].strip())
    return (unquote(parts.username or "") or "guest") == "guest" and \
        (parts.hostname or "localhost").lower() in LOCAL_BROKER_HOSTS


def ensure_passwords(directory: Path, prefix: str = USER_PREFIX) -> dict[str, str]:
    """Each process's broker password (created once, kept), by process name."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    passwords = {}
    for user in BROKER_USERS:
        path = password_file(directory, user.process, prefix)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(24))     # URL-safe: it goes into an AMQP URI as it is
        passwords[user.process] = path.read_text().strip()
        if not passwords[user.process]:
            raise BrokerSetupError(f"{path} is empty: remove it and run bin/setup again")
    return passwords


def password_file(directory: Path, process: str, prefix: str = USER_PREFIX) -> Path:
    return Path(directory) / f"{user_name(process, prefix)}.password"


def rabbitmqctl(interactive: bool = True) -> list[str]:
    """The command that runs rabbitmqctl on this machine (through sudo unless root; ``interactive`` False: sudo
    fails rather than asks for a password), or BrokerSetupError."""
    path = shutil.which("rabbitmqctl", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if not path:
        raise BrokerSetupError("rabbitmqctl not found (Debian: apt-get install rabbitmq-server)")
    if os.geteuid() == 0:
        return [path]
    return ["sudo", path] if interactive else ["sudo", "-n", path]


def import_definitions(document: dict, command: list[str] | None = None) -> None:
    """Load ``document`` into the broker; the same document a second time changes nothing."""
    command = command or rabbitmqctl()
    for vhost in document.get("vhosts", []):
        document = prepare_dead_letters(document, vhost["name"], command)
    done = subprocess.run([*command, "-q", "import_definitions"], input=json.dumps(document), text=True,
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise BrokerSetupError(f"rabbitmqctl import_definitions failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()}")


def dead_letters_of_other_type(vhost: str, command: list[str]) -> int | None:
    """How many messages a ``dead-letters`` queue that is not a quorum queue holds in ``vhost``; None when there is
    none such (none at all, a quorum one, or no such virtual host yet)."""
    done = subprocess.run([*command, "-q", "list_queues", "-p", vhost, "--no-table-headers", "name", "type",
                           "messages"], text=True, capture_output=True, timeout=120)
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        fields = line.split()
        if len(fields) == 3 and fields[0] == DEAD_LETTER_QUEUE and fields[1] != "quorum":
            return int(fields[2]) if fields[2].isdigit() else 0
    return None


def prepare_dead_letters(document: dict, vhost: str, command: list[str]) -> dict:
    """The definitions to import over a broker set up when ``dead-letters`` was a classic queue, which the broker
    would refuse to redeclare as a quorum queue: an empty one is deleted (the import declares the quorum queue);
    one holding messages is left as it is, out of the import, until ``python -m deploy.dead_letters migrate``
    moves them."""
    waiting = dead_letters_of_other_type(vhost, command)
    if waiting is None:
        return document
    if waiting == 0:
        subprocess.run([*command, "-q", "delete_queue", "-p", vhost, DEAD_LETTER_QUEUE, "--if-empty"], text=True,
                       capture_output=True, timeout=120)
        if dead_letters_of_other_type(vhost, command) is None:
            return document
    print(f"deploy.local.broker: {DEAD_LETTER_QUEUE} on {vhost} is a classic queue holding {waiting} message(s); "
          f"kept as it is: python -m deploy.dead_letters migrate (with an operator's login to {vhost}) makes it a "
          f"quorum queue", file=sys.stderr)
    return {**document, "queues": [queue for queue in document["queues"] if queue["name"] != DEAD_LETTER_QUEUE]}


def set_up_broker(directory: Path | None = None, vhost: str = VHOST, prefix: str = USER_PREFIX,
                  command: list[str] | None = None) -> dict[str, str]:
    """The virtual host, every process's user, permissions and topic permissions, and the event topology;
    returns the passwords by process name."""
    passwords = ensure_passwords(directory or PASSWORDS, prefix)
    import_definitions(definitions(passwords, vhost, prefix), command)
    return passwords


def users_imported(directory: Path | None = None) -> bool:
    """Whether the last set-up loaded the users into the local broker."""
    return (Path(directory or PASSWORDS) / IMPORTED).is_file()


def login_settings(process: str, directory: Path | None = None, vhost: str = VHOST,
                   prefix: str = USER_PREFIX) -> dict[str, str]:
    """The environment that makes ``process`` log in as its own broker user (servicekit.process.config)."""
    user = broker_user(process)
    path = password_file(directory or PASSWORDS, user.process, prefix)
    if not path.is_file():
        raise BrokerSetupError(f"no broker password for {process} ({path}): run bin/setup")
    return {"AMQP_USER": user_name(user.process, prefix), "AMQP_PASSWORD_FILE": str(path), "AMQP_VHOST": vhost}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print-definitions", action="store_true",
                        help="print the definitions document (password hashes of var/keys/amqp) and change nothing")
    args = parser.parse_args(argv)
    if args.print_definitions:
        json.dump(definitions(ensure_passwords(PASSWORDS)), sys.stdout, indent=2)
        print()
        return 0
    if not is_local_guest(os.environ.get("AMQP_URI")):
        print("deploy.local.broker: AMQP_URI names a broker of its own; its users are set up there "
              "(docs/security.md#broker-users-and-permissions)", file=sys.stderr)
        return 0
    marker = PASSWORDS / IMPORTED
    try:
        set_up_broker()
    except (BrokerSetupError, OSError, subprocess.TimeoutExpired) as error:
        # e.g. a broker in a container, without rabbitmqctl here: the platform still runs, as guest
        marker.unlink(missing_ok=True)
        print(f"deploy.local.broker: broker users not set up ({error}); bin/run logs every process in as guest, "
              f"which only a developer's localhost allows", file=sys.stderr)
        return 0
    marker.write_text(VHOST + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
