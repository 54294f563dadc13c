"""Members on orders: the orders they may claim, claiming (one conditional write: ``stores/claims.py``),
withdrawing, checking in and out at the order's position, the completion report and its photos."""
from __future__ import annotations

import base64
import binascii
import uuid

from eventlet import tpool

from servicekit.errors import Conflict, InvalidArgument, NotFound
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import parse_stamp, stamp

from services.volunteer import access
from services.volunteer import events as published
from services.volunteer.domain import orders as rules
from services.volunteer.domain import photos
from services.volunteer.domain.orders import Actor
from services.volunteer.domain.teams import fence_refusal, parse_fix
from services.volunteer.views import MEMBER_VIEW, claim_view, order_summary, order_view

CLAIM_STATUSES = tuple(state.value for state in rules.ClaimState)
REPORTABLE = [rules.IN_SERVICE.value, rules.COMPLETED.value]
MAX_PHOTOS = 9


class Claims:
    def __init__(self, store, clock, identity, directory):
        self.store, self.clock, self.identity, self.directory = store, clock, identity, directory

    # --- what a member may claim --------------------------------------------------------------------------
    def list_claimable(self, caller: CallerScope, page_size, page_token) -> dict:
        member_id = access.require_member(caller)
        skip, limit = page_window(page_size, page_token)
        community_id = self.store.current_report_community(member_id)
        found = self.store.open_orders_of_community(community_id) if community_id else []
        found += self.store.open_orders_of_teams(self.store.active_team_ids(member_id))
        held = self.store.member_claims_on(member_id, [order["_id"] for order in found])
        holding = {state.value for state in rules.HOLDS_PLACE}
        claimable = sorted({order["_id"]: order for order in found
                            if order.get("tenant_id") == caller.tenant_id and (order.get("places_left") or 0) > 0
                            and held.get(order["_id"], {}).get("status") not in holding}.values(),
                           key=lambda order: (order["wished_start"], order["_id"]))
        page, token = page_of(claimable[skip:skip + limit + 1], skip, limit)
        claims = self.store.claims_of_orders([order["_id"] for order in page])
        now = self.clock.now()
        return {"orders": [order_view(order, claims[order["_id"]], MEMBER_VIEW, now, held.get(order["_id"]))
                           for order in page], "next_page_token": token}

    # --- claiming and withdrawing -------------------------------------------------------------------------------
    def claim(self, caller: CallerScope, order_id) -> dict:
        member_id = access.require_member(caller)
        order = self._order(caller, order_id)
        rules.may_claim_order(order)
        # most claims of a contested day meet a full order: refused from the order already read, without the reads,
        # the identity lookup and the transaction (whose conditional write stays the guarantee)
        rules.next_claim_state("claim", self.store.claim(rules.claim_id(order["_id"], member_id)))
        if (order.get("places_left") or 0) <= 0:
            raise rules.order_full()
        if order.get("mode") == rules.MODE_TEAM:
            if not self.store.in_team(member_id, order.get("team_id", "")):
                raise Conflict("该订单派给了志愿服务队，您不是该队队员", code="NOT_IN_TEAM", field="order_id")
        elif not self.store.reported_to(member_id, order["community_id"]):
            raise Conflict("您尚未向该社区报到（双报到），不能认领此订单", code="NOT_REPORTED_HERE",
                           field="order_id")
        member = self.directory.member(self.identity, caller, member_id)
        now = self.clock.now()
        settings = self.store.settings_in_force(order["tenant_id"])
        claimed_at = stamp(now)
        row = {"_id": rules.claim_id(order["_id"], member_id), "tenant_id": order["tenant_id"],
               "order_id": order["_id"], "community_id": order["community_id"], "member_id": member_id,
               "name": member["name"], "branch_id": member["branch_id"], "branch_path": member["branch_path"],
               "status": rules.CLAIMED.value, "claimed_at": claimed_at,
               "release_at": stamp(rules.release_due(order, now, settings)), "checked_in_at": None,
               "checked_out_at": None, "hours": 0.0, "withdrawn_at": None, "withdraw_reason": ""}
        claim, _ = self.store.take_place(row, [published.ORDER_CLAIMED.build(
            order["tenant_id"], now, order_id=order["_id"], claim_id=row["_id"], community_id=order["community_id"],
            member_id=member_id, branch_id=member["branch_id"], claimed_at=claimed_at)])
        return claim_view(claim)

    def withdraw(self, caller: CallerScope, order_id, reason) -> dict:
        member_id = access.require_member(caller)
        order = self._order(caller, order_id)
        why = rules.reason(reason, required=False, label="退出原因")
        claim_id = rules.claim_id(order["_id"], member_id)
        rules.next_claim_state("withdraw", self.store.claim(claim_id))
        now = self.clock.now()
        claim, _ = self.store.change_claim(
            claim_id, "withdraw", {"status": rules.WITHDRAWN.value, "withdrawn_at": stamp(now),
                                   "withdraw_reason": why},
            {"places_left": 1, "claimed": -1, "pending": -1},
            completion_follow_up(self.store.settings_in_force(order["tenant_id"]), now,
                                 Actor(rules.MEMBER, member_id)),
            [published.CLAIM_WITHDRAWN.build(order["tenant_id"], now, order_id=order["_id"], claim_id=claim_id,
                                             member_id=member_id, reason=why, withdrawn_at=stamp(now))])
        return claim_view(claim)

    def list_mine(self, caller: CallerScope, status, page_size, page_token) -> dict:
        member_id = access.require_member(caller)
        if status not in (None, "") and status not in CLAIM_STATUSES:
            raise InvalidArgument("接单状态无效", code="UNKNOWN_VALUE", field="status")
        skip, limit = page_window(page_size, page_token)
        page, token = page_of(self.store.claims_of_member(member_id, status or "", skip, limit), skip, limit)
        orders = self.store.orders_by_ids([claim["order_id"] for claim in page])
        return {"claims": [{**claim_view(claim), "order": order_summary(orders[claim["order_id"]])}
                           for claim in page if claim["order_id"] in orders
                           and orders[claim["order_id"]].get("tenant_id") == caller.tenant_id],
                "next_page_token": token}

    # --- service: check in and out at the order's position ------------------------------------------------------
    def check_in(self, caller: CallerScope, order_id, lat, lng, accuracy_m, mock_location) -> dict:
        member_id = access.require_member(caller)
        order = self._order(caller, order_id)
        fix = parse_fix(lat, lng, accuracy_m, mock_location)
        claim_id = rules.claim_id(order["_id"], member_id)
        claim = self.store.claim(claim_id)
        rules.next_claim_state("check_in", claim)
        if rules.state_of(order) not in (rules.OPEN, rules.IN_SERVICE):
            raise rules.state_conflict(rules.state_of(order))
        now = self.clock.now()
        early = rules.too_early(order, now)
        if early is not None:
            raise early
        if claim.get("release_at") and now > parse_stamp(claim["release_at"]):
            raise Conflict("已超过签到时限，接单将被释放", code="TOO_LATE")
        _refuse_outside(fix, order)
        at = stamp(now)

        def start_service(after: dict):
            if rules.state_of(after) != rules.OPEN:
                return None
            return rules.transition(rules.START, after, Actor(rules.MEMBER, member_id), now), {"started_at": at}, (), []
        claim, _ = self.store.change_claim(
            claim_id, "check_in", {"status": rules.CHECKED_IN.value, "checked_in_at": at,
                                   "check_in_position": _position(fix)}, None, start_service,
            [published.SERVICE_CHECKED_IN.build(order["tenant_id"], now, order_id=order["_id"], claim_id=claim_id,
                                                member_id=member_id, checked_in_at=at)])
        return claim_view(claim)

    def check_out(self, caller: CallerScope, order_id, lat, lng, accuracy_m, mock_location) -> dict:
        member_id = access.require_member(caller)
        order = self._order(caller, order_id)
        fix = parse_fix(lat, lng, accuracy_m, mock_location)
        claim_id = rules.claim_id(order["_id"], member_id)
        claim = self.store.claim(claim_id)
        rules.next_claim_state("check_out", claim)
        _refuse_outside(fix, order)
        now = self.clock.now()
        at = stamp(now)
        hours = rules.claim_hours({"checked_in_at": claim["checked_in_at"], "checked_out_at": at},
                                  order.get("hours_cap") or 0)
        claim, _ = self.store.change_claim(
            claim_id, "check_out", {"status": rules.CHECKED_OUT.value, "checked_out_at": at, "hours": hours,
                                    "check_out_position": _position(fix)}, {"pending": -1},
            completion_follow_up(self.store.settings_in_force(order["tenant_id"]), now,
                                 Actor(rules.MEMBER, member_id)),
            [published.SERVICE_CHECKED_OUT.build(order["tenant_id"], now, order_id=order["_id"], claim_id=claim_id,
                                                 member_id=member_id, checked_out_at=at, hours=hours)])
        return claim_view(claim)

    # --- the completion report ------------------------------------------------------------------------------------
    def report(self, caller: CallerScope, order_id, text) -> dict:
        member_id = access.require_member(caller)
        order, mine = self._served_order(caller, member_id, order_id)
        words = rules.completion_text(text)
        after = self.store.set_completion_text(order["_id"], REPORTABLE, words, member_id, stamp(self.clock.now()))
        if after is None:
            raise rules.state_conflict(rules.state_of(self.store.order(order["_id"])))
        return order_view(after, self.store.claims_of_order(order["_id"]), MEMBER_VIEW, self.clock.now(), mine)

    def add_photo(self, caller: CallerScope, order_id, content, content_type) -> dict:
        member_id = access.require_member(caller)
        order, _ = self._served_order(caller, member_id, order_id)
        if len(order.get("photo_ids") or []) >= MAX_PHOTOS:
            raise Conflict(f"每个订单最多上传 {MAX_PHOTOS} 张照片", code="TOO_MANY_PHOTOS", field="photo")
        if isinstance(content, (bytes, bytearray)):
            data = bytes(content)
        else:
            try:
                data = base64.b64decode(content or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise InvalidArgument("照片内容无效", code="UPLOAD_INVALID", field="content") from None
        # decoding an image is CPU work: on a native thread, the other requests' greenlets keep running
        content_hash = tpool.execute(photos.check_photo, data, content_type)
        photo = {"_id": f"pho_{uuid.uuid4().hex}", "tenant_id": order["tenant_id"], "order_id": order["_id"],
                 "content": data, "content_type": photos.declared_type(content_type), "content_hash": content_hash,
                 "size": len(data), "added_by": member_id, "added_at": stamp(self.clock.now())}
        if not self.store.add_order_photo(photo, REPORTABLE):
            raise rules.state_conflict(rules.state_of(self.store.order(order["_id"])))
        return {"photo_id": photo["_id"], "content_hash": content_hash}

    def get_photo(self, caller: CallerScope, photo_id) -> dict:
        """A completion photo, for the order's managers, its citizen and its volunteers."""
        photo = self.store.order_photo(photo_id)
        order = self.store.order(photo["order_id"]) if photo else None
        if not (access.manages_order(caller, order) or access.owns_order(caller, order) or (
                caller.member_id and access.same_tenant(caller, order)
                and self._holds_place(caller.member_id, order))):
            raise NotFound("照片不存在", code="PHOTO_NOT_FOUND", field="photo_id")
        extension = photos.EXTENSIONS.get(photo["content_type"], "bin")
        return {"photo_id": photo["_id"], "filename": f"{photo['_id']}.{extension}",
                "content_type": photo["content_type"], "content": base64.b64encode(photo["content"]).decode(),
                "content_hash": photo["content_hash"]}

    # --- helpers ------------------------------------------------------------------------------------------------------
    def _order(self, caller: CallerScope, order_id) -> dict:
        order = self.store.order(order_id)
        if not access.same_tenant(caller, order):
            raise access.order_not_found()
        return order

    def _holds_place(self, member_id: str, order: dict) -> dict | None:
        mine = self.store.claim(rules.claim_id(order["_id"], member_id))
        return mine if mine and mine["status"] in {state.value for state in rules.HOLDS_PLACE} else None

    def _served_order(self, caller: CallerScope, member_id: str, order_id) -> tuple[dict, dict]:
        """The order and the member's claim on it, when the member checked in on it (a volunteer of the order)."""
        order = self._order(caller, order_id)
        mine = self._holds_place(member_id, order)
        if mine is None or mine["status"] == rules.CLAIMED.value:
            raise Conflict("只有已签到的志愿者可以提交服务情况", code="NOT_A_VOLUNTEER", field="order_id")
        if order["status"] not in REPORTABLE:
            raise rules.state_conflict(rules.state_of(order))
        return order, mine


def completion_follow_up(settings: dict, now, actor: Actor):
    """After a claim stops being pending (checked out, withdrawn or released): an order in service with no
    pending claim left is completed, and its automatic confirmation is due ``auto_confirm_hours`` later (by the
    tenant's ``settings``)."""
    def follow_up(order: dict):
        if rules.state_of(order) != rules.IN_SERVICE or order.get("pending", 0) > 0:
            return None
        step = rules.transition(rules.COMPLETE, order, actor, now)
        at = stamp(now)
        return step, {"completed_at": at, "auto_confirm_at": stamp(rules.auto_confirm_due(now, settings))}, (), [
            published.ORDER_COMPLETED.build(order["tenant_id"], now, order_id=order["_id"],
                                            community_id=order["community_id"], completed_at=at)]
    return follow_up


def _refuse_outside(fix, order: dict) -> None:
    refusal = fence_refusal(fix, order["lat"], order["lng"], order.get("fence_radius_m") or 0)
    if refusal is not None:
        details = ([{"distance_m": round(refusal.distance_m), "radius_m": order.get("fence_radius_m") or 0}]
                   if refusal.distance_m is not None else None)
        raise Conflict(refusal.message, code=refusal.code, details=details)


def _position(fix) -> dict:
    return {"lat": fix.lat, "lng": fix.lng, "accuracy_m": fix.accuracy_m}
