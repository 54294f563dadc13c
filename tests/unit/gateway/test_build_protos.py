import os

from gateway.grpc import build_protos

IDENTITY_PROTO = build_protos.PROTO_ROOT / "partybuilding" / "v1" / "identity.proto"


def test_building_again_does_nothing_while_the_modules_are_up_to_date():
    build_protos.build()
    assert build_protos.build() is False


def test_a_changed_proto_is_compiled_again():
    build_protos.build()
    generated = IDENTITY_PROTO.with_name("identity_pb2.py")
    earlier = IDENTITY_PROTO.stat().st_mtime - 60
    os.utime(generated, (earlier, earlier))
    assert build_protos.is_up_to_date() is False
    assert build_protos.build() is True
    assert build_protos.is_up_to_date() is True


def test_generated_modules_import_each_other_absolutely():
    build_protos.build()
    generated = IDENTITY_PROTO.with_name("identity_pb2.py").read_text()
    assert "from protos.partybuilding.v1 import common_pb2" in generated


def test_the_descriptor_set_keeps_the_proto_comments():
    from gateway.http.descriptions import comment

    assert comment("partybuilding.v1.IdentityApi.GetMe").startswith("Who am I")
