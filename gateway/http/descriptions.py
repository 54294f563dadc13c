"""What the .proto files say about each message, field and rpc: comments and choices.

Comments come from ``protos/descriptors.binpb`` (written by build_protos with source
info). A comment heading a group of fields (consecutive lines) describes every field
of the group that has none of its own.
"""
from __future__ import annotations

from functools import lru_cache

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

from gateway.grpc.build_protos import DESCRIPTOR_SET
from protos.partybuilding.v1 import common_pb2

MESSAGE_TYPE, SERVICE = 4, 6          # FileDescriptorProto field numbers
FIELD, NESTED_TYPE, METHOD = 2, 3, 2  # DescriptorProto / ServiceDescriptorProto field numbers


def _clean(comment: str) -> str:
    return " ".join(line.strip() for line in comment.strip().splitlines())


@lru_cache(maxsize=1)
def comments() -> dict[str, str]:
    """Full name (package.Message, package.Message.field, package.Service.Rpc) → comment."""
    if not DESCRIPTOR_SET.exists():
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    found: dict[str, str] = {}
    for file in files.file:
        locations = {tuple(loc.path): loc for loc in file.source_code_info.location}
        prefix = f"{file.package}." if file.package else ""
        for index, message in enumerate(file.message_type):
            _message_comments(found, locations, (MESSAGE_TYPE, index), prefix + message.name, message)
        for index, service in enumerate(file.service):
            path = (SERVICE, index)
            _put(found, prefix + service.name, locations.get(path))
            for m_index, method in enumerate(service.method):
                _put(found, f"{prefix}{service.name}.{method.name}", locations.get(path + (METHOD, m_index)))
    return found


def _put(found: dict, name: str, location) -> None:
    if location is not None and location.leading_comments.strip():
        found[name] = _clean(location.leading_comments)


def _message_comments(found, locations, path, full_name, message) -> None:
    _put(found, full_name, locations.get(path))
    group_comment, previous_end = "", None
    for index, field in enumerate(message.field):
        location = locations.get(path + (FIELD, index))
        if location is None:
            continue
        start, end = location.span[0], location.span[2] if len(location.span) == 4 else location.span[0]
        if location.leading_comments.strip():
            group_comment = _clean(location.leading_comments)
        elif previous_end is None or start != previous_end + 1:
            group_comment = ""
        if group_comment:
            found[f"{full_name}.{field.name}"] = group_comment
        previous_end = end
    for index, nested in enumerate(message.nested_type):
        _message_comments(found, locations, path + (NESTED_TYPE, index), f"{full_name}.{nested.name}", nested)


def comment(full_name: str) -> str:
    return comments().get(full_name, "")


def choices(field: FieldDescriptor) -> list[str] | None:
    """The values a string field takes (``(choices)`` option), or None when unrestricted."""
    options = field.GetOptions()
    if not options.HasExtension(common_pb2.choices):
        return None
    return options.Extensions[common_pb2.choices].split("|")


SCALAR_NAMES = {
    FieldDescriptor.TYPE_STRING: "string", FieldDescriptor.TYPE_BYTES: "bytes", FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT32: "int32", FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64", FieldDescriptor.TYPE_SINT32: "int32", FieldDescriptor.TYPE_SINT64: "int64",
    FieldDescriptor.TYPE_FIXED32: "uint32", FieldDescriptor.TYPE_FIXED64: "uint64",
    FieldDescriptor.TYPE_SFIXED32: "int32", FieldDescriptor.TYPE_SFIXED64: "int64",
    FieldDescriptor.TYPE_FLOAT: "float", FieldDescriptor.TYPE_DOUBLE: "double",
}


def is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def is_optional(field: FieldDescriptor) -> bool:
    """A proto3 ``optional`` scalar: sent to the service only when set."""
    return field.has_presence and field.message_type is None and not field.is_repeated


def type_name(field: FieldDescriptor) -> str:
    """How a field's type reads in documentation: string, Org[], map<string, string>..."""
    if is_map(field):
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return f"map<{type_name(key)}, {type_name(value)}>"
    if field.message_type is not None:
        name = field.message_type.name
    elif field.enum_type is not None:
        name = field.enum_type.name
    else:
        name = SCALAR_NAMES[field.type]
    return f"{name}[]" if field.is_repeated else name
