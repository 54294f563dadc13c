"""GET /docs: one self-contained HTML page listing every operation and object."""
from __future__ import annotations

from html import escape

from google.protobuf.descriptor import Descriptor

from gateway.http.descriptions import choices, comment, is_optional, type_name
from gateway.operations import Operation
from protos.partybuilding.v1 import common_pb2

EMPTY = '""'
STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222}
header{background:#b71c1c;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
main{max-width:1100px;margin:0 auto;padding:8px 32px 48px}
section.op{border:1px solid #ddd;border-radius:6px;margin:18px 0;padding:8px 16px}
.method{display:inline-block;min-width:64px;text-align:center;font:bold 13px monospace;color:#fff;
border-radius:4px;padding:2px 6px;margin-right:8px}
.GET{background:#1565c0}.POST{background:#2e7d32}.PATCH{background:#ef6c00}.DELETE{background:#c62828}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace}.path{font-weight:bold}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}td,th{border-bottom:1px solid #eee;text-align:left;
padding:4px 8px;vertical-align:top;font-size:14px}th{background:#fafafa}.muted{color:#777}
nav ul{columns:2;padding-left:18px}
"""


def _fields_table(message: Descriptor, where: dict[str, str] | None = None) -> str:
    if not message.fields:
        return '<p class="muted">No fields.</p>'
    rows = []
    for field in message.fields:
        notes = [escape(comment(field.full_name))]
        allowed = choices(field)
        if allowed is not None:
            notes.append("One of: " + ", ".join(f"<code>{escape(value) or EMPTY}</code>" for value in allowed))
        if is_optional(field):
            notes.append("Optional: omit to leave unset.")
        type_cell = escape(type_name(field))
        if field.message_type is not None and not field.message_type.GetOptions().map_entry \
                and field.message_type.full_name.startswith("partybuilding."):
            type_cell = f'<a href="#type-{field.message_type.name}">{type_cell}</a>'
        place = f"<td>{escape(where.get(field.name, 'body'))}</td>" if where is not None else ""
        rows.append(f"<tr><td><code>{escape(field.name)}</code></td><td>{type_cell}</td>{place}"
                    f"<td>{' '.join(note for note in notes if note)}</td></tr>")
    place_head = "<th>in</th>" if where is not None else ""
    return (f"<table><tr><th>field</th><th>type</th>{place_head}<th>description</th></tr>"
            + "".join(rows) + "</table>")


def _where(op: Operation) -> dict[str, str]:
    default = "query" if op.http_method == "GET" else "body"
    where = {field.name: default for field in op.request.DESCRIPTOR.fields}
    where.update({name: "path" for name in op.path_params})
    if op.upload:
        where[op.upload.content_field] = "body (the raw file)"
        where[op.upload.format_field] = "Content-Type or ?format="
    return where


def _operation(op: Operation) -> str:
    auth = "Bearer token required" if op.auth else "No token needed"
    upload = ""
    if op.upload:
        upload = ("<p>Send the file itself as the body with Content-Type "
                  + " or ".join(f"<code>{escape(media)}</code>" for media in op.upload.media_map) + ".</p>")
    if op.download and op.download.inline:
        upload += ("<p>Over HTTP the answer is the image itself, "
                   + " or ".join(f"<code>{escape(media)}</code>" for media in op.download.all_media_types)
                   + ", with <code>Content-Disposition: inline</code>, an <code>ETag</code> (the content's SHA-256) "
                   f"and <code>Cache-Control: private, max-age={op.download.max_age}</code>; "
                   "<code>If-None-Match</code> naming that ETag is answered 304. Errors stay JSON.</p>")
    elif op.download:
        upload += (f"<p>The file itself instead of JSON: add <code>?download=1</code>, or send "
                   f"<code>Accept: {escape(op.download.media_type)}</code>. It answers with that media type and "
                   "<code>Content-Disposition: attachment; filename=\"&lt;ASCII fallback&gt;\"; "
                   "filename*=UTF-8''&lt;the Chinese name, percent-encoded&gt;</code>. Without either (or with "
                   "<code>Accept: */*</code>) the answer is the JSON below, the file's bytes in base64.</p>")
    return (f'<section class="op" id="{escape(op.rpc)}"><h3><span class="method {escape(op.http_method)}">'
            f'{escape(op.http_method)}</span><span class="path">{escape(op.path)}</span></h3>'
            f"<p><b>{escape(op.summary)}</b> {escape(comment(f'{op.api}.{op.rpc}'))}</p>"
            f'<p class="muted">gRPC <code>{escape(op.grpc_path)}</code> · {auth}</p>{upload}'
            f"<h4>Request <code>{escape(op.request.DESCRIPTOR.name)}</code></h4>"
            f"{_fields_table(op.request.DESCRIPTOR, _where(op))}"
            f"<h4>Response <code>{escape(op.response.DESCRIPTOR.name)}</code></h4>"
            f"{_fields_table(op.response.DESCRIPTOR)}</section>")


def _objects(operations: tuple[Operation, ...]) -> list[Descriptor]:
    seen: dict[str, Descriptor] = {}

    def visit(message: Descriptor) -> None:
        for field in message.fields:
            target = field.message_type
            if target is None or not target.full_name.startswith("partybuilding."):
                continue
            if target.GetOptions().map_entry or target.full_name in seen:
                continue
            seen[target.full_name] = target
            visit(target)

    for op in operations:
        for message in (op.request.DESCRIPTOR, op.response.DESCRIPTOR):
            if message.full_name not in seen and message.name[0].isupper() and \
                    not message.name.endswith(("Request", "Response")):
                seen[message.full_name] = message
            visit(message)
    seen[common_pb2.Error.DESCRIPTOR.full_name] = common_pb2.Error.DESCRIPTOR
    return sorted(seen.values(), key=lambda message: message.name)


def render_docs(operations: tuple[Operation, ...]) -> str:
    toc = "".join(f'<li><a href="#{escape(op.rpc)}"><code>{escape(op.http_method)} {escape(op.path)}</code></a> '
                  f"{escape(op.summary)}</li>" for op in operations)
    objects = "".join(f'<section class="op" id="type-{escape(m.name)}"><h3>{escape(m.name)}</h3>'
                      f"<p>{escape(comment(m.full_name))}</p>{_fields_table(m)}</section>"
                      for m in _objects(operations))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Smart party-building API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><header><h1>Smart party-building (智慧党建) API · v1</h1></header><main>
<p>Every operation is served over HTTP/JSON (below) and gRPC (service and method shown). Send
<code>Authorization: Bearer &lt;access_token&gt;</code> (gRPC metadata <code>authorization</code>) with every
operation but login. Bodies are JSON objects with exactly the fields listed; answers show every field.
Errors answer <code>{{"error": {{"code", "message", "field", "details"}}}}</code> over HTTP, and the status code
plus trailing metadata <code>error-code</code>, <code>error-field</code>, <code>error-details-bin</code> over
gRPC. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<nav><h2>Operations</h2><ul>{toc}</ul></nav>
<h2>Operations</h2>{"".join(_operation(op) for op in operations)}
<h2>Objects</h2>{objects}
</main></body></html>
"""
