"""The operator's way back into a tenant whose admin password is lost: reset_tenant_admin_password."""
import time

import pytest
from kombu import Connection, Exchange, Queue

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.identity import passwords

from tests.support.identity import PASSWORD, login

pytestmark = pytest.mark.integration
NEW_PASSWORD = "N3w-admin-pass"


def logs_in(rpc, code: str, username: str, password: str) -> bool:
    try:
        login(rpc, code, username, password)
        return True
    except Unauthenticated:
        return False


def test_the_operator_sets_a_given_password_and_the_old_one_stops_working(rpc, city, operator_scope):
    answer = rpc.identity.reset_tenant_admin_password(scope=operator_scope, tenant_code=city.code,
                                                      username="city-admin", password=NEW_PASSWORD)

    assert answer["generated_password"] == ""
    assert answer["account"]["username"] == "city-admin" and answer["account"]["tenant_id"] == city.tenant_id
    assert logs_in(rpc, city.code, "city-admin", NEW_PASSWORD)
    assert not logs_in(rpc, city.code, "city-admin", PASSWORD)


def test_without_a_password_one_is_generated_and_answered_once(rpc, city, operator_scope):
    answer = rpc.identity.reset_tenant_admin_password(scope=operator_scope, tenant_code=city.code,
                                                      username="city-admin")

    generated = answer["generated_password"]
    passwords.check_strength(generated)
    assert generated != PASSWORD and logs_in(rpc, city.code, "city-admin", generated)


def test_the_reset_is_published_without_the_password(rpc, city, operator_scope, bus_uri):
    connection = Connection(bus_uri)
    queue = Queue(f"test-watch-{time.time_ns()}", exchange=Exchange("identity.events", type="topic", durable=True),
                  routing_key="account_password_reset", auto_delete=True, exclusive=True)
    try:
        bound = queue(connection.default_channel)
        bound.declare()
        answer = rpc.identity.reset_tenant_admin_password(scope=operator_scope, tenant_code=city.code,
                                                          username="city-admin", password=NEW_PASSWORD)
        deadline, event = time.monotonic() + 30, None
        while event is None and time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            elif message.payload.get("account_id") == answer["account"]["id"]:
                event = message.payload
        assert event is not None, "no account_password_reset event within 30 s"
        assert event["tenant_id"] == city.tenant_id and event["username"] == "city-admin"
        assert event["reset_by"] == operator_scope["account_id"]
        assert NEW_PASSWORD not in str(event)
    finally:
        connection.release()


def test_no_one_but_the_operator_may_reset_not_even_the_tenants_own_admins(rpc, city, other_city):
    member = city.add_member(city.branches[0][0])
    callers = [city.admin, city.county_admins[0], other_city.admin, city.member_login(member, "member-reset")]
    for caller in callers:
        with pytest.raises(PermissionDenied) as refused:
            rpc.identity.reset_tenant_admin_password(scope=caller, tenant_code=city.code, username="city-admin",
                                                     password=NEW_PASSWORD)
        assert refused.value.code == "OPERATOR_ONLY"
    with pytest.raises(Unauthenticated) as unknown:
        rpc.identity.reset_tenant_admin_password(scope={}, tenant_code=city.code, username="city-admin")
    assert unknown.value.code == "SCOPE_MISSING"
    assert logs_in(rpc, city.code, "city-admin", PASSWORD)


@pytest.mark.parametrize("arguments, error, code, field", [
    ({"password": "short"}, InvalidArgument, "PASSWORD_TOO_WEAK", "password"),
    ({"password": "onlyletters"}, InvalidArgument, "PASSWORD_TOO_WEAK", "password"),
    ({"password": 12345678}, InvalidArgument, "PASSWORD_TOO_WEAK", "password"),
    ({"tenant_code": ""}, InvalidArgument, "REQUIRED", "tenant_code"),
    ({"username": ""}, InvalidArgument, "REQUIRED", "username"),
    ({"tenant_code": "no-such-city"}, NotFound, "TENANT_NOT_FOUND", "tenant_code"),
    ({"username": "nobody"}, NotFound, "ACCOUNT_NOT_FOUND", "username"),
    ({"username": "county1"}, PermissionDenied, "NOT_TENANT_ADMIN", "username"),
])
def test_bad_input_is_refused_and_changes_no_password(rpc, city, operator_scope, arguments, error, code, field):
    request = {"tenant_code": city.code, "username": "city-admin", "password": NEW_PASSWORD, **arguments}
    with pytest.raises(error) as refused:
        rpc.identity.reset_tenant_admin_password(scope=operator_scope, **request)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert logs_in(rpc, city.code, "city-admin", PASSWORD)
    assert logs_in(rpc, city.code, "county1", PASSWORD)


def test_another_tenants_admin_is_not_found_under_this_tenants_code(rpc, city, other_city, operator_scope):
    other_city.rpc.identity.create_account(scope=other_city.admin, username="second-admin", password=PASSWORD,
                                           role="org_admin", org_id=other_city.root["id"])
    with pytest.raises(NotFound) as refused:
        rpc.identity.reset_tenant_admin_password(scope=operator_scope, tenant_code=city.code,
                                                 username="second-admin", password=NEW_PASSWORD)
    assert refused.value.code == "ACCOUNT_NOT_FOUND"
    assert logs_in(rpc, other_city.code, "second-admin", PASSWORD)

    # a second admin over the root is a tenant admin too
    rpc.identity.reset_tenant_admin_password(scope=operator_scope, tenant_code=other_city.code,
                                             username="second-admin", password=NEW_PASSWORD)
    assert logs_in(rpc, other_city.code, "second-admin", NEW_PASSWORD)
    assert logs_in(rpc, other_city.code, "city-admin", PASSWORD)
