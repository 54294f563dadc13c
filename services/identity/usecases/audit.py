"""The audit log for a tenant's auditors (审计员): search, verify and export the entries every service records
(``servicekit.audit``). Identity holds the auditor role, so it answers these: its own log from its database, every
other service's through that service's ``audit_entries`` and ``verify_audit_chain`` (asked at once, each within
``AUDIT_PEER_TIMEOUT_SECONDS``). Only the caller's own tenant is ever read: no argument names another."""
from __future__ import annotations

import base64
import logging
from datetime import date, datetime, time, timedelta, timezone

import eventlet

from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.process.config import env
from servicekit.security.scope import CallerScope
from servicekit.spreadsheets import XLSX_MEDIA_TYPE, append_row, workbook_bytes
from servicekit.timestamps import LOCAL_ZONE, stamp

from services.identity.arguments import text

log = logging.getLogger(__name__)

PAGE_DEFAULT, PAGE_MAX = 100, 500
EXPORT_MAX = 10_000
OUTCOMES_OK = "ok"
HEADERS = ("时间", "服务", "操作", "类别", "账号", "党员", "角色", "对象", "来源地址", "请求号", "结果", "序号", "哈希")
KIND_LABELS = {"read": "查看个人信息", "write": "写操作"}


def auditor(caller: CallerScope) -> str:
    """The caller's tenant, when the caller is one of its auditors; refused otherwise (the operator included: an
    installation's operator reads no tenant's trail)."""
    if not caller.tenant_id or not caller.is_auditor:
        raise PermissionDenied("只有本单位的审计员可以查看审计日志", code="AUDITOR_ONLY")
    return caller.tenant_id


def bound(value, field: str, end: bool) -> str:
    """A stored stamp from an ISO-8601 time (with its zone; none = China's) or a date (China's civil day: its
    start, or for ``end`` the start of the next day, so that ``until=2026-12-06`` covers the 6th)."""
    value = text(value, field, required=False, max_length=40)
    if not value:
        return ""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            moment = datetime.combine(day, time(), LOCAL_ZONE)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LOCAL_ZONE)
    except ValueError:
        raise InvalidArgument(f"{field} 须为日期（YYYY-MM-DD）或 ISO-8601 时间", code="INVALID_TIME", field=field)
    return stamp(moment.astimezone(timezone.utc))


class AuditLogReads:
    def __init__(self, own_log, peers: dict):
        self.own_log = own_log      # identity's servicekit.audit.log.AuditLog
        self.peers = peers          # service name -> nameko proxy with audit_entries / verify_audit_chain

    def search(self, caller: CallerScope, since="", until="", actor="", operation="", outcome="", target="",
               service="", page_size=0) -> dict:
        tenant = auditor(caller)
        limit = page_size or PAGE_DEFAULT
        if not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise InvalidArgument(f"page_size 须在 1 到 {PAGE_MAX} 之间", code="PAGE_SIZE_INVALID", field="page_size")
        return self._entries(tenant, since, until, actor, operation, outcome, target, service, limit)

    def export(self, caller: CallerScope, since="", until="", actor="", operation="", outcome="", target="",
               service="") -> dict:
        from openpyxl import Workbook

        tenant = auditor(caller)
        found = self._entries(tenant, since, until, actor, operation, outcome, target, service, EXPORT_MAX)
        book = Workbook()
        sheet = book.active
        sheet.title = "审计日志"
        append_row(sheet, HEADERS)
        for entry in found["entries"]:
            append_row(sheet, [entry["at"], entry["service"], entry["operation"],
                               KIND_LABELS.get(entry["kind"], entry["kind"]), entry["account_id"], entry["member_id"],
                               " ".join(entry["roles"]), " ".join(f"{k}={v}" for k, v in sorted(entry["targets"].items())),
                               entry["client_address"], entry["request_id"],
                               "成功" if entry["outcome"] == OUTCOMES_OK else entry["outcome"], entry["seq"],
                               entry["hash"]])
        if found["truncated"] or found["unavailable"]:
            notes = book.create_sheet("说明")
            if found["truncated"]:
                append_row(notes, [f"仅导出最近的 {EXPORT_MAX} 条，请缩小时间范围"])
            for name in found["unavailable"]:
                append_row(notes, [f"服务 {name} 未应答，其记录未包含在内"])
        day = datetime.now(LOCAL_ZONE).strftime("%Y%m%d")
        return {"filename": f"审计日志-{day}.xlsx", "content_type": XLSX_MEDIA_TYPE,
                "content": base64.b64encode(workbook_bytes(book)).decode()}

    def verify(self, caller: CallerScope) -> dict:
        tenant = auditor(caller)
        chains = [self.own_log.verify(tenant)]
        answers, unavailable = self._ask({name: ("verify_audit_chain", {"tenant_id": tenant})
                                          for name in self.peers})
        chains.extend(answers.values())
        chains.sort(key=lambda chain: chain["service"])
        return {"ok": all(chain["ok"] for chain in chains) and not unavailable,
                "chains": [chain_view(chain) for chain in chains], "unavailable": unavailable}

    def _entries(self, tenant, since, until, actor, operation, outcome, target, service, limit) -> dict:
        filters = {"since": bound(since, "since", end=False), "until": bound(until, "until", end=True),
                   "actor": text(actor, "actor", required=False, max_length=64),
                   "operation": text(operation, "operation", required=False, max_length=64),
                   "outcome": text(outcome, "outcome", required=False, max_length=64),
                   "target": text(target, "target", required=False, max_length=80)}
        service = text(service, "service_name", required=False, max_length=32)
        known = ("identity", *self.peers)
        if service and service not in known:
            raise InvalidArgument(f"service_name 取值无效，可选：{', '.join(known)}", code="UNKNOWN_VALUE",
                                  field="service_name")
        results, truncated = [], False
        if not service or service == "identity":
            own = self.own_log.search(tenant, limit=limit, **filters)
            results.extend(own["entries"])
            truncated = own["truncated"]
        asked = {name: ("audit_entries", {"tenant_id": tenant, "limit": limit, **filters})
                 for name in self.peers if not service or service == name}
        answers, unavailable = self._ask(asked)
        for answer in answers.values():
            results.extend(answer["entries"])
            truncated = truncated or answer["truncated"]
        results.sort(key=lambda entry: (entry["at"], entry["service"], entry["seq"]), reverse=True)
        return {"entries": results[:limit], "truncated": truncated or len(results) > limit,
                "unavailable": unavailable}

    def _ask(self, calls: dict) -> tuple[dict, list[str]]:
        """Each peer's answer to its call, all sent at once; the names of those that failed or did not answer."""
        timeout = float(env("AUDIT_PEER_TIMEOUT_SECONDS", "10"))
        pending, answers, unavailable = {}, {}, []
        for name, (method, kwargs) in calls.items():
            try:
                pending[name] = getattr(self.peers[name], method).call_async(**kwargs)
            except Exception:  # noqa: BLE001  a service not deployed or not reachable: said so in the answer
                log.warning("audit log of %s not asked", name, exc_info=True)
                unavailable.append(name)
        for name, reply in pending.items():
            try:
                with eventlet.Timeout(timeout):
                    answers[name] = reply.result()
            except (Exception, eventlet.Timeout):  # noqa: BLE001  as above
                log.warning("audit log of %s did not answer", name, exc_info=True)
                unavailable.append(name)
        return answers, sorted(unavailable)


def chain_view(chain: dict) -> dict:
    head, checkpoint, broken = chain.get("head"), chain.get("checkpoint"), chain.get("first_broken")
    return {"service": chain["service"], "ok": chain["ok"], "checked": chain["checked"],
            "head_seq": head["seq"] if head else 0, "head_hash": head["hash"] if head else "",
            "checkpoint_seq": checkpoint["seq"] if checkpoint else 0,
            "checkpoint_hash": checkpoint["hash"] if checkpoint else "",
            "broken_seq": broken["seq"] if broken else 0, "broken_entry_id": broken["entry_id"] if broken else "",
            "broken_problem": broken["problem"] if broken else ""}

