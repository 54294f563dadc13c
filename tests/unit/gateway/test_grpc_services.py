import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.client import ApiError
from protos.partybuilding.v1 import identity_pb2

IDENTITY_API = "partybuilding.v1.IdentityApi"


@pytest.mark.parametrize("service", ["", IDENTITY_API])
def test_the_health_check_answers_serving(service, channel):
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def admin_channel(dispatcher):
    """A gateway gRPC server as the admin listener has it: reflection offered."""
    from gateway.grpc.server import GrpcGateway

    gateway = GrpcGateway(dispatcher, "127.0.0.1:0", max_workers=2, reflection=True).start()
    with grpc.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        yield channel
    gateway.stop(grace=0)


def test_the_public_port_offers_no_reflection(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_lists_the_api_health_and_reflection(admin_channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(admin_channel)
    [answer] = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                         timeout=5)
    names = {service.name for service in answer.list_services_response.service}
    assert {IDENTITY_API, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


def test_reflection_describes_the_api(admin_channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(admin_channel)
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=IDENTITY_API)
    [answer] = stub.ServerReflectionInfo(iter([request]), timeout=5)
    files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
             for raw in answer.file_descriptor_response.file_descriptor_proto]
    services = {service.name: [m.name for m in service.method] for f in files for service in f.service}
    assert "Login" in services["IdentityApi"] and "ImportMembers" in services["IdentityApi"]


def test_a_generated_stub_can_call_the_gateway(channel, backend, token):
    from protos.partybuilding.v1 import identity_pb2_grpc

    stub = identity_pb2_grpc.IdentityApiStub(channel)
    org = stub.GetOrg(identity_pb2.GetOrgRequest(org_id="org-branch-1"),
                      metadata=(("authorization", f"Bearer {token}"),), timeout=5)
    assert org.name == "第一党支部" and list(org.path_ids)[-1] == "org-branch-1"


def test_an_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary(f"/{IDENTITY_API}/Explode", request_serializer=lambda m: b"",
                               response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as refused:
        call(None, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_chinese_error_message_arrives_intact(grpc_client, backend, token):
    from servicekit.errors import NotFound

    backend.fail_with(NotFound("组织不存在", code="ORG_NOT_FOUND", field="org_id"))
    with pytest.raises(ApiError) as refused:
        grpc_client.call("GetOrg", {"org_id": "x"}, token)
    assert (refused.value.message, refused.value.code, refused.value.field) == \
        ("组织不存在", "ORG_NOT_FOUND", "org_id")
