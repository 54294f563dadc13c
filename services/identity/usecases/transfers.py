"""Transfers of a member's party relation (组织关系转接) between branches: requested by the sending side,
accepted or rejected by the receiving side before a deadline."""
from __future__ import annotations

from datetime import timedelta

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import stamp

from services.identity import access, documents, events
from services.identity.arguments import text
from services.identity.store import path_of
from services.identity.usecases.common import UseCases, choice
from services.identity.views import transfer_view


def _decided() -> Conflict:
    return Conflict("该转接已办结", code="TRANSFER_DECIDED", field="transfer_id")


class Transfers(UseCases):
    def request(self, caller: CallerScope, member_id, to_branch_id, reason) -> dict:
        member = access.managed_member(caller, self.member(member_id))
        target = self.org(to_branch_id, "to_branch_id")
        if target is None or target["tenant_id"] != caller.tenant_id or target["kind"] != "branch":
            raise NotFound("接收党支部不存在", code="BRANCH_NOT_FOUND", field="to_branch_id")
        if target["_id"] == member["branch_id"]:
            raise InvalidArgument("转入支部与当前支部相同", code="SAME_BRANCH", field="to_branch_id")
        if self.store.pending_transfer_of(member["_id"]):
            raise Conflict("该党员已有未办结的转接", code="TRANSFER_PENDING", field="member_id")
        source = self.store.org(member["branch_id"])
        moment = self.clock.now()
        now = stamp(moment)
        deadline = self.store.tenant(caller.tenant_id)["settings"]["transfer_deadline_days"]
        transfer = {"_id": documents.new_id("trf"), "tenant_id": caller.tenant_id, "member_id": member["_id"],
                    "member_name": member["name"], "from_branch_id": source["_id"], "from_branch_name": source["name"],
                    "from_path_ids": path_of(source), "to_branch_id": target["_id"],
                    "to_branch_name": target["name"], "to_path_ids": path_of(target), "state": "pending",
                    "reason": text(reason, "reason", required=False, max_length=500), "requested_at": now,
                    "requested_by": caller.account_id, "due_at": stamp(moment + timedelta(days=deadline))}
        self.store.request_transfer(transfer, [events.TRANSFER_REQUESTED.build(
            caller.tenant_id, now, transfer_id=transfer["_id"], member_id=member["_id"],
            from_branch_id=source["_id"], to_branch_id=target["_id"])])
        return transfer_view(transfer, now)

    def _receiving(self, caller: CallerScope, transfer_id) -> dict:
        """A pending transfer the caller may decide: one it manages the receiving side of."""
        transfer = self.store.transfer(text(transfer_id, "transfer_id"))
        visible = transfer and transfer["tenant_id"] == caller.tenant_id and (
            caller.manages_path(transfer["to_path_ids"]) or caller.manages_path(transfer["from_path_ids"]))
        if not visible:
            raise NotFound("转接记录不存在", code="TRANSFER_NOT_FOUND", field="transfer_id")
        if not caller.manages_path(transfer["to_path_ids"]):
            raise PermissionDenied("只有接收方可以办理转入", code="NOT_RECEIVING_SIDE", field="transfer_id")
        if transfer["state"] != "pending":
            raise _decided()
        return transfer

    def accept(self, caller: CallerScope, transfer_id) -> dict:
        transfer = self._receiving(caller, transfer_id)
        target = self.store.org(transfer["to_branch_id"])
        if target is None:
            raise Conflict("接收党支部已撤销", code="BRANCH_GONE", field="transfer_id")
        now = self.stamp()
        new_path = path_of(target)
        accepted = self.store.accept_transfer(
            transfer, {"state": "accepted", "decided_at": now, "decided_by": caller.account_id}, new_path, now,
            [events.MEMBER_TRANSFERRED.build(
                caller.tenant_id, now, transfer_id=transfer["_id"], member_id=transfer["member_id"],
                from_branch_id=transfer["from_branch_id"], to_branch_id=target["_id"], path_ids=new_path)])
        if not accepted:
            raise _decided()
        return transfer_view(self.store.transfer(transfer["_id"]), now)

    def reject(self, caller: CallerScope, transfer_id, reason) -> dict:
        transfer = self._receiving(caller, transfer_id)
        reason = text(reason, "reason", max_length=500)
        now = self.stamp()
        rejected = self.store.reject_transfer(
            transfer, {"state": "rejected", "reject_reason": reason, "decided_at": now,
                       "decided_by": caller.account_id},
            [events.TRANSFER_REJECTED.build(caller.tenant_id, now, transfer_id=transfer["_id"],
                                            member_id=transfer["member_id"], reason=reason)])
        if not rejected:
            raise _decided()
        return transfer_view(self.store.transfer(transfer["_id"]), now)

    def list(self, caller: CallerScope, org_id, side, state, page_size, page_token) -> dict:
        """``state``: pending (due later), overdue (pending past its due time) or done (accepted or rejected)."""
        org = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        side = choice(side, ("outgoing", "incoming"), "side")
        state = choice(state, ("pending", "overdue", "done"), "state")
        skip, limit = page_window(page_size, page_token)
        now = self.stamp()
        query = {"tenant_id": caller.tenant_id,
                 ("from_path_ids" if side == "outgoing" else "to_path_ids"): org["_id"]}
        if state == "done":
            query["state"] = {"$in": ["accepted", "rejected"]}
        else:
            query["state"] = "pending"
            query["due_at"] = {"$lt": now} if state == "overdue" else {"$gte": now}
        found, token = page_of(self.store.transfers(query, skip, limit + 1), skip, limit)
        return {"transfers": [transfer_view(item, now) for item in found], "next_page_token": token}
