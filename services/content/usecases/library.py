"""Attachments of an organisation node: uploaded by its admins or secretary, checked by content, kept once per
node and content hash, downloaded (and counted) by whoever sees the node's content."""
from __future__ import annotations

import base64
import binascii
import hashlib

from eventlet import semaphore, tpool

from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import attachments as rules

# Uploads checked at once (each on a native thread): decoding and hashing 50 MiB holds ~120 MB for a moment
CHECKS = semaphore.Semaphore(2)
NOT_FOUND = ("附件不存在", "ATTACHMENT_NOT_FOUND", "attachment_id")


def attachment_id_of(tenant_id: str, org_id: str, sha256: str) -> str:
    """The same bytes uploaded to the same node are the same attachment: its id follows from the three."""
    return "att_" + hashlib.sha256(f"{tenant_id}|{org_id}|{sha256}".encode()).hexdigest()[:32]


def attachment_view(doc: dict) -> dict:
    return {"attachment_id": doc["_id"], "org_id": doc["org_id"], "filename": doc["filename"],
            "media_type": doc["media_type"], "size": doc["size"], "sha256": doc["sha256"],
            "downloads": doc.get("downloads", 0), "uploaded_by": doc["uploaded_by"], "uploaded_at": doc["uploaded_at"]}


def _decoded_and_checked(content: str, media_type, filename) -> tuple[bytes, rules.FileType, str, str]:
    try:
        data = base64.b64decode(content or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("文件内容无效", code="ATTACHMENT_INVALID", field="content") from None
    found, name = rules.check(data, media_type, filename)
    return data, found, name, rules.content_hash(data)


class Library:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def _managed_node(self, caller: CallerScope, org_id) -> dict:
        """The node, for a caller who manages it; members are refused before anything is looked up, and a node
        outside the caller's reach is ORG_NOT_FOUND (identity's answer)."""
        caller.require_tenant()
        if not caller.managed_org_ids:
            raise PermissionDenied("只有管理员或书记可以管理附件", code="NOT_ORG_MANAGER", field="org_id")
        if not isinstance(org_id, str) or not org_id:
            raise InvalidArgument("请选择组织", code="ORG_REQUIRED", field="org_id")
        org = self.org_paths.org(self.identity, caller, org_id)
        access.require_manager(caller, org["path_ids"])
        return org

    def upload(self, caller: CallerScope, org_id, media_type, content, filename) -> dict:
        """Store a file for the node; the same bytes uploaded there before give back the stored attachment
        (``duplicate`` true) and store nothing more."""
        org = self._managed_node(caller, org_id)
        if not isinstance(content, str):
            raise InvalidArgument("文件内容无效", code="ATTACHMENT_INVALID", field="content")
        with CHECKS:
            data, found, name, sha256 = tpool.execute(_decoded_and_checked, content, media_type, filename)
        path = list(org["path_ids"])
        attachment = {"_id": attachment_id_of(caller.tenant_id, org["id"], sha256), "tenant_id": caller.tenant_id,
                      "org_id": org["id"], "org_path": path, **ancestor_fields(path), "filename": name,
                      "media_type": found.media_type, "kind": found.kind, "size": len(data), "sha256": sha256,
                      "downloads": 0, "uploaded_by": caller.account_id, "uploaded_at": stamp(self.clock.now())}
        stored, created = self.store.store_attachment(attachment, data)
        return {**attachment_view(stored), "duplicate": not created}

    def list(self, caller: CallerScope, org_id, page_size, page_token) -> dict:
        """The attachments of the node's subtree, newest first."""
        org = self._managed_node(caller, org_id)
        skip, limit = page_window(page_size, page_token)
        docs, token = page_of(self.store.attachments_under(list(org["path_ids"]), caller.tenant_id, skip, limit + 1),
                              skip, limit)
        return {"attachments": [attachment_view(doc) for doc in docs], "next_page_token": token}

    def download(self, caller: CallerScope, attachment_id) -> dict:
        """The file, for whoever sees its node's content; each download is counted."""
        caller.require_tenant()
        doc = self.store.attachment(attachment_id) if isinstance(attachment_id, str) and attachment_id else None
        reach = access.reach_paths(caller, self.org_paths, self.identity) if access.same_tenant(caller, doc) else []
        if not reach or not access.within_reach(caller, doc.get("org_path") or [], reach):
            raise access.not_found(*NOT_FOUND)
        counted = self.store.count_download(doc["_id"])
        if counted is None:
            raise access.not_found(*NOT_FOUND)
        data = self.store.attachment_bytes(doc["_id"])
        return {**attachment_view(counted), "content": base64.b64encode(data).decode()}
