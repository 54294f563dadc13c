"""Compile every .proto under protos/ into Python modules beside it.

Run from anywhere: ``python -m gateway.grpc.build_protos`` (``--force`` to rebuild).
Protos are compiled with ``-I <repo root>`` so generated imports are absolute
(``from protos.partybuilding.v1 import common_pb2``). It also writes
``protos/descriptors.binpb``, a FileDescriptorSet with source info, from which the
gateway reads the proto comments for its OpenAPI document and /docs page.
Idempotent and fast: nothing is done while every output is newer than every input;
outputs are written to a temporary folder and moved into place, so concurrent runs
never see half-written modules.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "protos"
DESCRIPTOR_SET = PROTO_ROOT / "descriptors.binpb"


class ProtoBuildError(RuntimeError):
    pass


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def outputs_for(proto: Path) -> list[Path]:
    stem = proto.with_suffix("")
    return [stem.with_name(stem.name + "_pb2.py"), stem.with_name(stem.name + "_pb2_grpc.py")]


def is_up_to_date() -> bool:
    protos = proto_files()
    outputs = [out for proto in protos for out in outputs_for(proto)] + [DESCRIPTOR_SET]
    if not all(out.exists() for out in outputs):
        return False
    newest_input = max(path.stat().st_mtime for path in protos + [Path(__file__)])
    return min(out.stat().st_mtime for out in outputs) >= newest_input


def build(force: bool = False) -> bool:
    """Build the generated modules if they are missing or stale; True when it compiled."""
    if not force and is_up_to_date():
        return False
    from grpc_tools import protoc

    well_known = Path(importlib.import_module("grpc_tools").__file__).parent / "_proto"
    relative = [str(proto.relative_to(REPO_ROOT)) for proto in proto_files()]
    with tempfile.TemporaryDirectory(dir=PROTO_ROOT, prefix=".build-") as scratch:
        descriptor_tmp = Path(scratch) / DESCRIPTOR_SET.name
        args = ["grpc_tools.protoc", f"-I{REPO_ROOT}", f"-I{well_known}",
                f"--python_out={scratch}", f"--grpc_python_out={scratch}",
                "--include_source_info", "--include_imports", f"--descriptor_set_out={descriptor_tmp}",
                *[str(REPO_ROOT / path) for path in relative]]
        if protoc.main(args) != 0:
            raise ProtoBuildError(f"protoc failed on {', '.join(relative)}")
        for proto in relative:
            for out in outputs_for(REPO_ROOT / proto):
                os.replace(Path(scratch) / out.relative_to(REPO_ROOT), out)
        os.replace(descriptor_tmp, DESCRIPTOR_SET)
    importlib.invalidate_caches()
    return True


def clean() -> None:
    for proto in proto_files():
        for out in outputs_for(proto):
            out.unlink(missing_ok=True)
    DESCRIPTOR_SET.unlink(missing_ok=True)
    for stale in PROTO_ROOT.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    compiled = build(force="--force" in argv)
    print("protos compiled" if compiled else "protos up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
