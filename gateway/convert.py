"""Message ⇄ dict conversions of the dispatcher, without json_format's per-field interpretation.

``to_kwargs(message)`` equals ``MessageToDict(message, preserving_proto_field_name=True,
always_print_fields_with_no_presence=True)`` and ``to_message(cls, data)`` equals
``ParseDict(data, cls(), ignore_unknown_fields=True)``; json_format is slow pure Python
and these run on every request (a member's scan above all). A message type is handled
here when all its fields are of the plain kinds below (strings, bools, 32-bit integers,
doubles, nested messages, repeated fields of those, proto3 ``optional``); anything else
(enums, bytes, 64-bit integers, floats, maps, oneofs, google.protobuf types), and any
value that is not of exactly the expected Python type, goes through json_format as before,
so answers and errors stay the same. Keys no field has are dropped, as json_format drops them
(a ranking row's ``counts`` carries ``rating``, which the Counts message has not).

A caller's body (``strict``) is held to JSON's types where json_format is lenient: a number field takes a JSON
number, not text, a bool or null (``_refuse_loose_numbers``). A message from the wire (gRPC) whose known field
came with another wire type is named by ``mistyped_field``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor as F
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

INT32_TYPES = {F.TYPE_INT32: (-2**31, 2**31 - 1), F.TYPE_SINT32: (-2**31, 2**31 - 1),
               F.TYPE_SFIXED32: (-2**31, 2**31 - 1), F.TYPE_UINT32: (0, 2**32 - 1),
               F.TYPE_FIXED32: (0, 2**32 - 1)}
PLAIN_TYPES = {F.TYPE_STRING, F.TYPE_BOOL, F.TYPE_DOUBLE, F.TYPE_MESSAGE, *INT32_TYPES}
# A caller's body (``strict``) gives these a JSON number, nothing else: json_format also takes "33.1", true and
# null (null as 0), which let a scan's "lat": "33.146" sign in and judged "lat": null as the equator.
NUMBER_TYPES = {F.TYPE_DOUBLE, F.TYPE_FLOAT, *INT32_TYPES}


class Fallback(Exception):
    """This value needs json_format."""


def _plain(descriptor: Descriptor, seen: frozenset = frozenset()) -> bool:
    if descriptor.full_name.startswith("google.protobuf.") or descriptor.GetOptions().map_entry:
        return False
    if any(len(oneof.fields) > 1 or oneof.name != "_" + oneof.fields[0].name for oneof in descriptor.oneofs):
        return False
    seen = seen | {descriptor.full_name}
    return all(field.type in PLAIN_TYPES and (field.type != F.TYPE_MESSAGE or field.message_type.full_name in seen
                                              or _plain(field.message_type, seen))
               for field in descriptor.fields)


_PLAIN: dict[Descriptor, bool] = {}     # by the descriptor itself: upb hands out one object per message type


def is_plain(descriptor: Descriptor) -> bool:
    plain = _PLAIN.get(descriptor)
    if plain is None:
        plain = _PLAIN[descriptor] = _plain(descriptor)
    return plain


class _Field(NamedTuple):
    """What the dict paths read of a field, read once: the descriptor's attributes are C calls that
    build their answer anew each time (reading them per field and request was most of ``as_kwargs``)."""
    name: str
    kind: int
    repeated: bool
    presence: bool
    message: Descriptor | None      # a message field's type


class _Plan(NamedTuple):
    fields: tuple[_Field, ...]       # in the message's order
    by_name: dict[str, _Field]
    json_names: dict[str, _Field]   # by the camelCase names json_format also accepts


_PLANS: dict[Descriptor, _Plan] = {}


def _plan_of(descriptor: Descriptor) -> _Plan:
    plan = _PLANS.get(descriptor)
    if plan is None:
        fields = tuple(_Field(field.name, field.type, field.is_repeated, field.has_presence,
                              field.message_type if field.type == F.TYPE_MESSAGE else None)
                       for field in descriptor.fields)
        plan = _PLANS.setdefault(descriptor, _Plan(fields, {field.name: field for field in fields},
                                                   {field.json_name: planned for field, planned
                                                    in zip(descriptor.fields, fields)}))
    return plan


# --- message → keyword arguments -------------------------------------------------------------
def to_kwargs(message: Message) -> dict:
    if is_plain(message.DESCRIPTOR):
        try:
            return _dict_of(message)
        except Fallback:
            pass
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _dict_of(message: Message) -> dict:
    out = {}
    for field in _plan_of(message.DESCRIPTOR).fields:
        name = field.name
        if field.repeated:
            out[name] = [_value_of(field, item) for item in getattr(message, name)]
        elif not field.presence or message.HasField(name):
            out[name] = _value_of(field, getattr(message, name))
    return out


def _value_of(field: _Field, value):
    if field.kind == F.TYPE_MESSAGE:
        return _dict_of(value)
    if field.kind == F.TYPE_DOUBLE and not math.isfinite(value):
        raise Fallback
    return value


# --- a message parsed from the wire (gRPC) ------------------------------------------------------
class _Wire(NamedTuple):
    names: dict[int, str]                       # field number -> name
    messages: tuple[tuple[str, int], ...]       # message fields: (name, 0 single | 1 repeated | 2 map of messages)


_WIRES: dict[Descriptor, _Wire] = {}


def _wire_of(descriptor: Descriptor) -> _Wire:
    wire = _WIRES.get(descriptor)
    if wire is None:
        messages = []
        for field in descriptor.fields:
            if field.type != F.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                if field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
                    messages.append((field.name, 2))
            else:
                messages.append((field.name, 1 if field.is_repeated else 0))
        wire = _WIRES.setdefault(descriptor, _Wire({field.number: field.name for field in descriptor.fields},
                                                   tuple(messages)))
    return wire


def mistyped_field(message: Message, path: str = "") -> str | None:
    """The path (``fix.lat``) of the first field whose value came on the wire with another type than the field's,
    e.g. a client built from another version of the proto sending the latitude as a string: the parser keeps it
    as an unknown field and the field reads as unset (0), so the message would be served as if it were absent."""
    wire = _wire_of(message.DESCRIPTOR)
    for unknown in UnknownFieldSet(message):
        name = wire.names.get(unknown.field_number)
        if name is not None:
            return path + name
    for name, kind in wire.messages:
        if kind == 0:
            items = (getattr(message, name),) if message.HasField(name) else ()
        else:
            items = getattr(message, name).values() if kind == 2 else getattr(message, name)
        for item in items:
            found = mistyped_field(item, f"{path}{name}.")
            if found:
                return found
    return None


# --- dict → keyword arguments, without a message in between ------------------------------------
def as_kwargs(cls: type[Message], data: dict | None, strict: bool = False) -> dict:
    """``to_kwargs(to_message(cls, data, strict))``, computed from the dict alone for a plain message (a
    member's scan and its answer on the HTTP side, which need no message: building one and reading it back
    was about a sixth of the gateway's CPU per scan). Anything the fast path is unsure of goes the long way,
    so answers and errors stay the same."""
    if is_plain(cls.DESCRIPTOR):
        try:
            return _normalized(cls.DESCRIPTOR, data or {}, strict)
        except Fallback:
            pass
    return to_kwargs(to_message(cls, data, strict))


_DEFAULTS = {F.TYPE_STRING: "", F.TYPE_BOOL: False, F.TYPE_DOUBLE: 0.0, **{kind: 0 for kind in INT32_TYPES}}


def _refuses_unknown(plan: _Plan, data: dict, strict: bool) -> None:
    """Fallback for a key no field has that json_format must judge: any when ``strict``, a camelCase name or
    an extension; other unknown keys are dropped, as json_format drops them (ignore_unknown_fields)."""
    if plan.by_name.keys() >= data.keys():
        return
    for name in data:
        if name not in plan.by_name and (strict or name in plan.json_names or name.startswith("[")):
            raise Fallback


def _normalized(descriptor: Descriptor, data, strict: bool) -> dict:
    """The dict ``to_kwargs`` reads back from a message built of ``data``: every field in the message's
    order, defaults where absent (not a message or an optional one), doubles as floats."""
    return _normalizer(descriptor, strict)(data)


# ``_normalized`` runs for every request and every answer (a feed's items, field by field): each message type's
# walk is written out once as Python source, so a field costs a few bytecodes instead of a call and a plan read.
_NORMALIZERS: dict[tuple[Descriptor, bool], object] = {}
_NAMESPACE: dict = {}


def _normalizer(descriptor: Descriptor, strict: bool):
    function = _NORMALIZERS.get((descriptor, strict))
    if function is None:
        _compile(descriptor, strict)
        function = _NORMALIZERS[(descriptor, strict)]
    return function


def _function_name(descriptor: Descriptor, strict: bool) -> str:
    return "n_" + descriptor.full_name.replace(".", "_") + ("_strict" if strict else "")


def _compile(descriptor: Descriptor, strict: bool) -> None:
    """Define the normalizer of ``descriptor`` and of every message type it holds (a type refers to another by
    its global name, looked up when called: recursive types need nothing more)."""
    pending, seen = [descriptor], set()
    namespace = _NAMESPACE
    namespace.setdefault("__builtins__", __builtins__)
    namespace.update(Fallback=Fallback, _refuses_unknown=_refuses_unknown, _utf8=_utf8, _double=_double,
                     _bool=_bool, _text=_text, _no=_no)
    while pending:
        current = pending.pop()
        if (current, strict) in _NORMALIZERS or current in seen:
            continue
        seen.add(current)
        plan = _plan_of(current)
        name = _function_name(current, strict)
        namespace[f"{name}_plan"] = plan
        namespace[f"{name}_keys"] = frozenset(plan.by_name)
        lines = [f"def {name}(data):",
                 "    if type(data) is not dict:",
                 "        raise Fallback",
                 f"    if not data.keys() <= {name}_keys:",
                 f"        _refuses_unknown({name}_plan, data, {strict})",
                 "    out = {}"]
        for field in plan.fields:
            key = repr(field.name)
            if field.message is not None:
                pending.append(field.message)
            lines.append(f"    v = data.get({key})")
            if field.repeated:
                lines += ["    if v is None:", f"        out[{key}] = []",
                          "    elif type(v) is list:", f"        out[{key}] = {_items(field, strict)}",
                          "    else:", "        raise Fallback"]
                continue
            if field.presence:
                lines.append("    if v is not None:")
            else:
                lines.append("    if v is None:")
                if strict and field.kind in NUMBER_TYPES:
                    lines += [f"        if {key} in data:", "            raise Fallback"]
                lines += [f"        out[{key}] = {_DEFAULTS[field.kind]!r}", "    else:"]
            lines += ["        " + line for line in _value(field, strict)]
            lines.append(f"        out[{key}] = v")
        lines.append("    return out")
        exec("\n".join(lines), namespace)      # noqa: S102  source built above from the descriptor's own names
        _NORMALIZERS[(current, strict)] = namespace[name]


def _value(field: _Field, strict: bool) -> list[str]:
    """Statements that check ``v`` and leave it as a message would read it back (else raise Fallback)."""
    kind = field.kind
    if kind == F.TYPE_STRING:
        return ["if type(v) is not str:", "    raise Fallback", "if not v.isascii():", "    _utf8(v)"]
    if kind == F.TYPE_MESSAGE:
        return [f"v = {_function_name(field.message, strict)}(v)"]
    if kind == F.TYPE_BOOL:
        return [f"v = _bool(v, {strict})"]
    if kind == F.TYPE_DOUBLE:
        return ["v = _double(v)"]
    low, high = INT32_TYPES[kind]
    return [f"if type(v) is not int or not {low} <= v <= {high}:", "    raise Fallback"]


def _items(field: _Field, strict: bool) -> str:
    """A list comprehension over ``v`` giving each item as ``_value`` leaves it."""
    kind = field.kind
    if kind == F.TYPE_STRING:
        return "[_text(x) for x in v]"
    if kind == F.TYPE_MESSAGE:
        return f"[{_function_name(field.message, strict)}(x) for x in v]"
    if kind == F.TYPE_BOOL:
        return f"[_bool(x, {strict}) for x in v]"
    if kind == F.TYPE_DOUBLE:
        return "[_double(x) for x in v]"
    low, high = INT32_TYPES[kind]
    return f"[x if type(x) is int and {low} <= x <= {high} else _no(x) for x in v]"


def _no(_value):
    raise Fallback


def _utf8(value: str) -> None:
    try:
        value.encode()
    except UnicodeEncodeError:   # an unpaired surrogate: json_format words the refusal
        raise Fallback from None


def _text(value):
    if type(value) is not str:
        raise Fallback
    if not value.isascii():
        _utf8(value)
    return value


def _bool(value, strict: bool) -> bool:
    if type(value) is bool:
        return value
    if not strict and type(value) is int and value in (0, 1):
        return bool(value)      # a service's answer: the embedded store reads some stored bools back as 1/0
    raise Fallback


def _double(value) -> float:
    if (type(value) is float and math.isfinite(value)) or type(value) is int:
        try:
            return float(value)      # as the message reads it back
        except OverflowError:
            raise Fallback from None
    raise Fallback


# --- dict → message ------------------------------------------------------------------------
def to_message(cls: type[Message], data: dict | None, strict: bool = False) -> Message:
    """``strict``: as ``ParseDict(data, cls(), ignore_unknown_fields=False)`` (a key no field has is
    refused, by json_format's own ParseError), for a caller's JSON body."""
    data = data or {}
    if is_plain(cls.DESCRIPTOR):
        try:
            return cls(**_fields_of(cls.DESCRIPTOR, data, strict))
        except Exception:  # noqa: BLE001  json_format decides, and words any error, as before
            pass
    if strict:
        _refuse_loose_numbers(cls.DESCRIPTOR, data, cls.DESCRIPTOR.name)
    try:
        return json_format.ParseDict(data, cls(), ignore_unknown_fields=not strict)
    except OverflowError:       # an integer beyond any double (JSON allows 400 digits): a caller's error, worded so
        path = _beyond_a_double(cls.DESCRIPTOR, data, cls.DESCRIPTOR.name) or cls.DESCRIPTOR.name
        raise json_format.ParseError(f"Failed to parse {path.rpartition('.')[2]} field: number too large "
                                     f"for a double at {path}.") from None


def _beyond_a_double(descriptor: Descriptor, data, path: str) -> str | None:
    """The path (``Message.field.field``) of the first integer in ``data`` too large for its double field."""
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        field = descriptor.fields_by_name.get(name)
        if field is None:
            continue
        for item in (value if isinstance(value, list) else [value]):
            if field.type == F.TYPE_MESSAGE:
                found = _beyond_a_double(field.message_type, item, f"{path}.{name}")
                if found:
                    return found
            elif field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT) and type(item) is int and not _fits_a_double(item):
                return f"{path}.{name}"
    return None


def _refuse_loose_numbers(descriptor: Descriptor, data, path: str) -> None:
    """A ParseError, worded as json_format words one (``... at Message.field.field.``), for the first number field
    of a caller's body holding anything but a finite JSON number: a string, a bool, or null where the field has
    no presence (an ``optional`` field's null means "not given", as json_format reads it)."""
    if type(data) is not dict:
        return                          # json_format refuses what is not an object
    plan = _plan_of(descriptor)
    for name, value in data.items():
        field = plan.by_name.get(name) or plan.json_names.get(name)
        if field is None or (value is None and (field.presence or field.repeated or field.message)):
            continue
        where = f"{path}.{field.name}"
        items = value if field.repeated and type(value) is list else (value,)
        if field.message is not None:
            if field.message.full_name.startswith("google.protobuf."):
                continue
            if field.message.GetOptions().map_entry:
                entry = _plan_of(field.message).by_name["value"]
                if entry.kind in NUMBER_TYPES and type(value) is dict:
                    _refuse_loose(entry, value.values(), where)
                elif entry.message is not None and type(value) is dict:
                    for item in value.values():
                        _refuse_loose_numbers(entry.message, item, where)
                continue
            for item in items:
                _refuse_loose_numbers(field.message, item, where)
        elif field.kind in NUMBER_TYPES:
            _refuse_loose(field, items, where)


def _refuse_loose(field: _Field, items, where: str) -> None:
    for item in items:
        if type(item) is int or (type(item) is float and math.isfinite(item)):
            continue
        got = "null" if item is None else "a non-finite number" if type(item) is float else type(item).__name__
        raise json_format.ParseError(f"Failed to parse {field.name} field: expected a JSON number, got {got} "
                                     f"at {where}.")


def _fits_a_double(number: int) -> bool:
    try:
        float(number)
        return True
    except OverflowError:
        return False


def _fields_of(descriptor: Descriptor, data, strict: bool = False) -> dict:
    if type(data) is not dict:
        raise Fallback
    plan = _plan_of(descriptor)
    _refuses_unknown(plan, data, strict)
    fields, out = plan.by_name, {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None or value is None:
            if strict and field is not None and field.kind in NUMBER_TYPES and not field.presence:
                raise Fallback     # an explicit null for a number: refused below
            continue               # unknown (and not refused above), or absent
        if field.repeated:
            if type(value) is not list:
                raise Fallback
            out[name] = [_checked(field, item, strict) for item in value]
        else:
            out[name] = _checked(field, value, strict)
    return out


def _checked(field: _Field, value, strict: bool = False):
    kind = field.kind
    if kind == F.TYPE_STRING:
        if type(value) is str:
            return value
    elif kind == F.TYPE_BOOL:
        if type(value) is bool:
            return value
        if not strict and type(value) is int and value in (0, 1):
            return bool(value)      # a service's answer: the embedded store reads some stored bools back as 1/0
    elif kind == F.TYPE_DOUBLE:
        if (type(value) is float and math.isfinite(value)) or type(value) is int:
            return value
    elif kind == F.TYPE_MESSAGE:
        return _fields_of(field.message, value, strict)
    elif type(value) is int:
        low, high = INT32_TYPES[kind]
        if low <= value <= high:
            return value
    raise Fallback
