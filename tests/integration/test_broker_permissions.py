"""The broker's own permissions on the real RabbitMQ: the service users are set up by the code bin/setup runs
(deploy.local.broker.set_up_broker), on a virtual host and with user names of this test's own, and the broker
itself refuses what a user does not own: publishing on another service's events exchange, consuming another
service's queue, binding to another service's calls, a reply queue under another name."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import amqp
import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from deploy.local.broker import BrokerSetupError, password_file, rabbitmqctl, set_up_broker
from servicekit.messaging.broker_access import BROKER_USERS, broker_user
from servicekit.messaging.standalone_rpc import cluster_rpc_proxy
from servicekit.messaging.topology import declare_consumer_topology, event_queue
from servicekit.process.config import nameko_config, with_login
from servicekit.security.proofs import verify_event
from tests.support.identity import PASSWORD, scope_of
from tests.support.service_fixtures import service_process

pytestmark = pytest.mark.integration


def _usable_rabbitmqctl() -> list[str] | None:
    try:
        command = rabbitmqctl(interactive=False)
        done = subprocess.run([*command, "-q", "list_vhosts"], capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (BrokerSetupError, OSError, subprocess.TimeoutExpired):
        return None
    return command if done.returncode == 0 else None


class ServiceUsers:
    def __init__(self, base_uri: str, directory, command: list[str]):
        self.tag = f"pbperm-{uuid.uuid4().hex[:8]}"
        self.vhost, self.prefix, self.directory, self.command = self.tag, f"{self.tag}-", directory, command
        self.base_uri = base_uri

    def set_up(self) -> dict[str, str]:
        return set_up_broker(self.directory, vhost=self.vhost, prefix=self.prefix, command=self.command)

    def uri(self, process: str) -> str:
        password = password_file(self.directory, process, self.prefix).read_text().strip()
        return with_login(self.base_uri, f"{self.prefix}{process}", password, self.vhost)

    def ctl(self, *args: str) -> str:
        return subprocess.run([*self.command, "-q", *args], check=True, capture_output=True, text=True,
                              timeout=60).stdout

    def tear_down(self) -> None:
        for user in BROKER_USERS:
            subprocess.run([*self.command, "-q", "delete_user", f"{self.prefix}{user.process}"], capture_output=True,
                           timeout=60)
        subprocess.run([*self.command, "-q", "delete_vhost", self.vhost], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def users(amqp_uri, tmp_path_factory):
    command = _usable_rabbitmqctl()
    if command is None:
        pytest.skip("rabbitmqctl is not usable here (not installed, or not root and no sudo without a password): "
                    "the broker's users cannot be set up")
    users = ServiceUsers(amqp_uri, tmp_path_factory.mktemp("amqp-keys"), command)
    try:
        users.set_up()
        yield users
    finally:
        users.tear_down()


def publish(uri: str, exchange: str, routing_key: str, body: bytes = b"{}") -> None:
    """Publish with a publisher confirm: returns once the broker took the message, raises when it refused."""
    with Connection(uri) as connection:
        channel = connection.connection.channel()
        channel.basic_publish_confirm(amqp.Message(body, delivery_mode=2), exchange=exchange,
                                      routing_key=routing_key, confirm_timeout=10)


def get(uri: str, queue: str):
    with Connection(uri) as connection:
        message = connection.connection.channel().basic_get(queue, no_ack=True)
        return message


def test_only_attendance_may_publish_on_attendance_events(users):
    queue = event_queue("attendance", "roster_frozen", "scoring", "points").name      # set-up declared it
    marker = uuid.uuid4().hex.encode()
    with pytest.raises(AccessRefused, match="ACCESS_REFUSED.*exchange 'attendance.events'"):
        publish(users.uri("identity"), "attendance.events", "roster_frozen", marker)
    with pytest.raises(AccessRefused, match="amq.default"):     # nor straight into the queue, past the exchange
        publish(users.uri("identity"), "", queue, marker)
    publish(users.uri("attendance"), "attendance.events", "roster_frozen", marker)
    message = get(users.uri("scoring-points"), queue)
    assert message is not None and message.body == marker


def test_a_user_cannot_consume_another_services_queue(users):
    points = event_queue("attendance", "roster_frozen", "scoring", "points").name
    score = event_queue("attendance", "checkin_recorded", "scoring", "score").name    # nothing published there
    for process, queue in (("identity", points), ("scoring", points), ("scoring-points", score),
                           ("gateway", score), ("content", "dead-letters")):
        with pytest.raises(AccessRefused, match=f"queue '{queue}'"):
            get(users.uri(process), queue)
    assert get(users.uri("scoring"), score) is None            # its own: empty, but readable


def test_a_service_cannot_bind_its_queue_to_another_services_calls(users):
    with Connection(users.uri("identity")) as connection:
        channel = connection.connection.channel()
        channel.queue_declare("rpc-identity", durable=True, auto_delete=False)      # as nameko declares it
        channel.queue_bind("rpc-identity", "nameko-rpc", "identity.*")
        with pytest.raises(AccessRefused, match="topic 'scoring.\\*'"):
            channel.queue_bind("rpc-identity", "nameko-rpc", "scoring.*")
    with Connection(users.uri("identity")) as connection:
        with pytest.raises(AccessRefused, match="queue 'rpc-scoring'"):
            connection.connection.channel().queue_declare("rpc-scoring", durable=True, auto_delete=False)


def test_each_consumer_declares_what_it_owns_and_nothing_else(users):
    points_rows = [row for row in broker_user("scoring-points").subscriptions()]
    with Connection(users.uri("scoring-points")) as connection:
        declare_consumer_topology(connection, points_rows, users.uri("scoring-points"))
    with Connection(users.uri("scoring")) as connection:
        with pytest.raises(AccessRefused, match="scoring.points"):
            declare_consumer_topology(connection, points_rows, users.uri("scoring"))


def test_setting_up_twice_changes_nothing(users):
    def state():
        exported = json.loads(users.ctl("export_definitions", "-", "--format", "json"))
        ours = {key: sorted((json.dumps(item, sort_keys=True) for item in items
                             if item.get("vhost", item.get("name")) == users.vhost or
                             str(item.get("user", item.get("name", ""))).startswith(users.prefix)))
                for key, items in exported.items() if isinstance(items, list)}
        passwords = {user.process: password_file(users.directory, user.process, users.prefix).read_text()
                     for user in BROKER_USERS}
        return ours, passwords
    before = state()
    assert len(before[0]["users"]) == len(BROKER_USERS) and before[0]["topic_permissions"]
    users.set_up()
    assert state() == before


@pytest.fixture(scope="module")
def identity_as_its_user(users, mongo_uri, tmp_path_factory):
    """The real identity service logged in as its own broker user (on a database prefix of its own), and an RPC
    proxy logged in as the gateway's user."""
    gateway = cluster_rpc_proxy({**nameko_config(), "AMQP_URI": users.uri("gateway")}, "gateway", timeout=30)
    rpc = gateway.start()

    def answers():
        rpc.identity.login(tenant_code="", username="operator", password=os.environ["OPERATOR_PASSWORD"])
        return True
    password = password_file(users.directory, "identity", users.prefix)
    env = {"AMQP_URI": users.base_uri, "AMQP_USER": f"{users.prefix}identity", "AMQP_PASSWORD_FILE": str(password),
           "AMQP_VHOST": users.vhost, "MONGO_URI": mongo_uri, "PASSWORD_HASH_PROFILE": "fast",
           "DB_PREFIX": f"{os.environ['DB_PREFIX']}_perm"}      # dropped with the session's databases
    process = service_process("identity", "IdentityService", env, tmp_path_factory.mktemp("logs"), answers)
    try:
        next(process)
        yield rpc
    finally:
        process.close()         # stops the service
        gateway.stop()


def test_the_gateway_calls_a_service_and_the_service_publishes_its_events_as_their_own_users(users,
                                                                                            identity_as_its_user):
    rpc = identity_as_its_user
    operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                           password=os.environ["OPERATOR_PASSWORD"]))
    created = rpc.identity.create_tenant(scope=operator, code=f"perm-{uuid.uuid4().hex[:8]}", name="权限市",
                                         admin_username="city-admin", admin_password=PASSWORD)
    # identity's relay, as identity's user, published tenant_created on identity.events, and the points
    # consumer's queue that set-up declared holds it, signed by identity
    queue = event_queue("identity", "tenant_created", "scoring", "points").name
    deadline, found = time.monotonic() + 20, None
    while found is None and time.monotonic() < deadline:
        message = get(users.uri("scoring-points"), queue)
        if message is None:
            time.sleep(0.2)
            continue
        body = json.loads(message.body)
        events = body if isinstance(body, list) else [body]
        if any(event.get("tenant_id") == created["tenant"]["id"] for event in events):
            found = message
    assert found is not None, "tenant_created never reached the points consumer's queue"
    raw = found.body if isinstance(found.body, bytes) else found.body.encode()
    assert verify_event("identity.events", raw, found.headers) == "identity"


@pytest.fixture(scope="module")
def attendance_as_its_user(users, identity_as_its_user, tmp_path_factory):
    rpc = identity_as_its_user

    def answers():
        return rpc.attendance.rosters(tenant_id="none", branch_ids=[]) == {}
    password = password_file(users.directory, "attendance", users.prefix)
    env = {"AMQP_URI": users.base_uri, "AMQP_USER": f"{users.prefix}attendance",
           "AMQP_PASSWORD_FILE": str(password), "AMQP_VHOST": users.vhost}
    process = service_process("attendance", "", env, tmp_path_factory.mktemp("logs"), answers,
                              target="tests.support.broker_probe:AttendanceProbe")
    try:
        next(process)
        yield rpc
    finally:
        process.close()


def test_a_call_from_service_to_service_crosses_each_ones_permissions(users, attendance_as_its_user):
    """gateway → attendance → identity and the two replies back, each process as its own user."""
    rpc = attendance_as_its_user
    operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                           password=os.environ["OPERATOR_PASSWORD"]))
    created = rpc.identity.create_tenant(scope=operator, code=f"perm-{uuid.uuid4().hex[:8]}", name="权限市",
                                         admin_username="city-admin", admin_password=PASSWORD)
    root = created["root_org"]["id"]
    assert rpc.attendance.rosters(tenant_id=created["tenant"]["id"], branch_ids=[root]) == {root: []}


def test_a_reply_queue_under_nameko_s_shared_name_is_refused(users):
    proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": users.uri("gateway")}, timeout=5)
    with pytest.raises(AccessRefused, match="rpc.reply-standalone_rpc_proxy"):
        proxy.start()
