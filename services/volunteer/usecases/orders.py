"""Citizens' orders: placing (with an account or as a guest with a tracking code), following, cancelling,
confirming and rating, disputing; the community's desk: listing, review, merge, dispatch, resolving disputes.

Each change of state is one transition of ``domain/orders.py`` stored with who, when and why.
"""
from __future__ import annotations

import uuid

from servicekit.errors import InvalidArgument, NotFound, TooManyRequests
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields, path_of
from servicekit.timestamps import stamp

from services.volunteer import access
from services.volunteer import events as published
from services.volunteer.domain import orders as rules
from services.volunteer.domain.orders import Actor
from services.volunteer.usecases.crediting import ledger_entries
from services.volunteer.views import CITIZEN_VIEW, MANAGER_VIEW, MEMBER_VIEW, order_view

STATUSES = tuple(state.value for state in rules.OrderState)


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex}"


def status_filter(value) -> str:
    if value is None or value == "":
        return ""
    if value not in STATUSES:
        raise InvalidArgument("订单状态无效", code="UNKNOWN_VALUE", field="status")
    return value


class Orders:
    def __init__(self, store, clock, identity, directory):
        self.store, self.clock, self.identity, self.directory = store, clock, identity, directory

    # --- placing -----------------------------------------------------------------------------------------
    def place(self, caller: CallerScope, community_id, category, description, address, lat, lng, wished_start,
              wished_end, contact_name, contact_phone) -> dict:
        access.require_citizen(caller)
        order = self._new_order(caller.tenant_id, community_id, category, description, address, lat, lng,
                                wished_start, wished_end, contact_name, contact_phone,
                                Actor(rules.CITIZEN, caller.account_id))
        return order_view(order, [], CITIZEN_VIEW, self.clock.now())

    def place_as_guest(self, tenant_code, community_id, category, description, address, lat, lng, wished_start,
                       wished_end, contact_name, contact_phone, client_address) -> dict:
        tenant_id = self.directory.tenant(self.identity, tenant_code)["tenant_id"]
        code = rules.new_tracking_code()
        order = self._new_order(tenant_id, community_id, category, description, address, lat, lng, wished_start,
                                wished_end, contact_name, contact_phone, Actor(rules.GUEST),
                                tracking_hash=rules.tracking_hash(code))
        return {"order": order_view(order, [], CITIZEN_VIEW, self.clock.now()), "tracking_code": code}

    def _new_order(self, tenant_id, community_id, category, description, address, lat, lng, wished_start,
                   wished_end, contact_name, contact_phone, actor: Actor, tracking_hash: str = "") -> dict:
        profile = self.store.profile(community_id) if isinstance(community_id, str) else None
        if profile is None or profile.get("tenant_id") != tenant_id or not profile.get("open"):
            raise access.community_not_found()
        now = self.clock.now()
        settings = self.store.settings_in_force(tenant_id)
        fields = rules.order_fields(settings=settings, profile=profile, category=category, description=description,
                                    address=address, lat=lat, lng=lng, wished_start=wished_start,
                                    wished_end=wished_end, contact_name=contact_name,
                                    contact_phone_number=contact_phone, now=now)
        placed_at = stamp(now)
        order = {"_id": new_order_id(), "tenant_id": tenant_id, "community_id": profile["_id"],
                 "community_name": profile.get("name", ""), **ancestor_fields(profile["path_ids"]), **fields,
                 "account_id": actor.id if actor.kind == rules.CITIZEN else "", "placed_by": actor.kind,
                 "status": rules.PLACED.value, "placed_at": placed_at,
                 "history": [{"from": "", "to": rules.PLACED.value, "action": "place", "actor_kind": actor.kind,
                              "actor_id": actor.id, "at": placed_at, "reason": ""}],
                 "review_due_at": stamp(rules.review_due(now, settings)), "overdue": False, "claimed": 0,
                 "places_left": 0, "pending": 0, "photo_ids": [], "wrong_guesses": 0}
        if tracking_hash:
            order["tracking_hash"] = tracking_hash
        return self.store.place_order(order, [published.ORDER_PLACED.build(
            tenant_id, now, order_id=order["_id"], community_id=order["community_id"], category=order["category"],
            actor_kind=actor.kind, placed_at=placed_at)])

    # --- guests: by tracking code and the contact phone's last 4 digits ------------------------------------
    def _tracked(self, tenant_code, tracking_code, phone_last4) -> dict:
        tenant_id = self.directory.tenant(self.identity, tenant_code)["tenant_id"]
        last4 = rules.check_last4(phone_last4)
        code = rules.normalized_tracking_code(tracking_code)
        order = self.store.order_by_tracking_hash(rules.tracking_hash(code)) if code else None
        if order is None or order.get("tenant_id") != tenant_id:
            raise NotFound("订单不存在或手机号后四位不符", code="ORDER_NOT_FOUND", field="tracking_code")
        now = self.clock.now()
        if rules.guessing_locked(order, now):
            raise TooManyRequests("尝试次数过多，请 15 分钟后再试", code="TOO_MANY_ATTEMPTS", field="phone_last4")
        if not rules.last4_matches(order, last4):
            self.store.note_wrong_guess(order["_id"], rules.MAX_WRONG_GUESSES, stamp(now + rules.GUESS_LOCK))
            raise NotFound("订单不存在或手机号后四位不符", code="ORDER_NOT_FOUND", field="tracking_code")
        if order.get("wrong_guesses"):
            self.store.clear_wrong_guesses(order["_id"])
        return order

    def get_tracked(self, tenant_code, tracking_code, phone_last4) -> dict:
        order = self._tracked(tenant_code, tracking_code, phone_last4)
        return self._citizen_view(order)

    def cancel_tracked(self, tenant_code, tracking_code, phone_last4, reason) -> dict:
        order = self._tracked(tenant_code, tracking_code, phone_last4)
        return self._cancel(order, Actor(rules.GUEST), reason)

    def confirm_tracked(self, tenant_code, tracking_code, phone_last4, rating, comment) -> dict:
        order = self._tracked(tenant_code, tracking_code, phone_last4)
        return self._confirm(order, Actor(rules.GUEST), rating, comment)

    def dispute_tracked(self, tenant_code, tracking_code, phone_last4, reason) -> dict:
        order = self._tracked(tenant_code, tracking_code, phone_last4)
        return self._dispute(order, Actor(rules.GUEST), reason)

    # --- citizens with an account --------------------------------------------------------------------------
    def list_mine(self, caller: CallerScope, status, page_size, page_token) -> dict:
        access.require_citizen(caller)
        status = status_filter(status)
        skip, limit = page_window(page_size, page_token)
        found = self.store.orders_of_account(caller.tenant_id, caller.account_id, status, skip, limit)
        page, token = page_of(found, skip, limit)
        claims = self.store.claims_of_orders([order["_id"] for order in page])
        now = self.clock.now()
        return {"orders": [order_view(order, claims[order["_id"]], CITIZEN_VIEW, now) for order in page],
                "next_page_token": token}

    def get(self, caller: CallerScope, order_id) -> dict:
        """The order in the caller's view: its managers', its citizen's, or a member's who holds a claim on it or
        may claim it."""
        order = self.store.order(order_id)
        if not access.same_tenant(caller, order):
            raise access.order_not_found()
        now = self.clock.now()
        if access.manages_order(caller, order):
            return order_view(order, self.store.claims_of_order(order["_id"]), MANAGER_VIEW, now)
        if access.owns_order(caller, order):
            return self._citizen_view(order)
        if caller.member_id:
            mine = self.store.claim(rules.claim_id(order["_id"], caller.member_id))
            if mine is not None or self.may_claim(caller.member_id, order):
                return order_view(order, self.store.claims_of_order(order["_id"]), MEMBER_VIEW, now, mine)
        raise access.order_not_found()

    def may_claim(self, member_id: str, order: dict) -> bool:
        """Whether the member is among those the order was opened to (it is open, or was)."""
        if order.get("mode") == rules.MODE_CLAIM:
            return self.store.reported_to(member_id, order["community_id"])
        if order.get("mode") == rules.MODE_TEAM:
            return self.store.in_team(member_id, order.get("team_id", ""))
        return False

    def cancel(self, caller: CallerScope, order_id, reason) -> dict:
        order = access.own_order(caller, self.store.order(order_id))
        return self._cancel(order, Actor(rules.CITIZEN, caller.account_id), reason)

    def confirm(self, caller: CallerScope, order_id, rating, comment) -> dict:
        order = access.own_order(caller, self.store.order(order_id))
        return self._confirm(order, Actor(rules.CITIZEN, caller.account_id), rating, comment)

    def dispute(self, caller: CallerScope, order_id, reason) -> dict:
        order = access.own_order(caller, self.store.order(order_id))
        return self._dispute(order, Actor(rules.CITIZEN, caller.account_id), reason)

    def _cancel(self, order: dict, actor: Actor, reason) -> dict:
        why = rules.reason(reason, required=False, label="取消原因")
        now = self.clock.now()
        step = rules.transition(rules.CANCEL, order, actor, now, why)
        after = self.store.step_order(order["_id"], step, {"cancelled_at": stamp(now), "overdue": False}, [],
                                      unset=("review_due_at",))
        return self._citizen_view(after)

    def _confirm(self, order: dict, actor: Actor, rating, comment) -> dict:
        stars, words = rules.rating(rating), rules.comment(comment)
        now = self.clock.now()
        step = rules.transition(rules.CONFIRM, order, actor, now)
        after = self._credit_and_step(order, step, {"rating": stars, "comment": words, "rated_at": stamp(now),
                                                    "confirmed_at": stamp(now)}, now, [
            published.ORDER_CONFIRMED.build(order["tenant_id"], now, order_id=order["_id"],
                                            community_id=order["community_id"], actor_kind=actor.kind,
                                            confirmed_at=stamp(now)),
            published.ORDER_RATED.build(order["tenant_id"], now, order_id=order["_id"],
                                        community_id=order["community_id"], rating=stars, rated_at=stamp(now))])
        return self._citizen_view(after)

    def _credit_and_step(self, order: dict, step: rules.Step, fields: dict, now, events: list[dict]) -> dict:
        """Take ``step`` and credit the hours of the order's checked-out claims with it (confirmation, automatic
        confirmation, a dispute resolved with credit)."""
        entries = ledger_entries(order, self.store.claims_of_order(order["_id"]), now)
        return self.store.step_order(order["_id"], step, {**fields, "credited": True}, events,
                                     unset=("auto_confirm_at",), credit=entries)

    def _dispute(self, order: dict, actor: Actor, reason) -> dict:
        why = rules.reason(reason, required=True, label="异议原因")
        now = self.clock.now()
        step = rules.transition(rules.DISPUTE, order, actor, now, why)
        after = self.store.step_order(order["_id"], step, {"dispute_reason": why, "disputed_at": stamp(now)}, [
            published.ORDER_DISPUTED.build(order["tenant_id"], now, order_id=order["_id"],
                                           community_id=order["community_id"], reason=why, disputed_at=stamp(now))],
            unset=("auto_confirm_at",))
        return self._citizen_view(after)

    def _citizen_view(self, order: dict) -> dict:
        return order_view(order, self.store.claims_of_order(order["_id"]), CITIZEN_VIEW, self.clock.now())

    # --- the community's desk --------------------------------------------------------------------------------
    def list_for_org(self, caller: CallerScope, org_id, status, category, overdue, page_size, page_token) -> dict:
        if not isinstance(org_id, str) or not org_id.strip():
            raise InvalidArgument("缺少组织", code="REQUIRED", field="org_id")
        path = access.managed_profile_path(caller, self.directory.org(self.identity, caller, org_id.strip()))
        status = status_filter(status)
        if category is not None and not isinstance(category, str):
            raise InvalidArgument("服务类别必须是文字", code="INVALID_TYPE", field="category")
        if overdue is None:
            overdue = False
        if not isinstance(overdue, bool):
            raise InvalidArgument("overdue 必须是布尔值", code="INVALID_TYPE", field="overdue")
        skip, limit = page_window(page_size, page_token)
        found = self.store.orders_in_subtree(path, status, (category or "").strip(), overdue, skip, limit)
        page, token = page_of(found, skip, limit)
        claims = self.store.claims_of_orders([order["_id"] for order in page])
        now = self.clock.now()
        return {"orders": [order_view(order, claims[order["_id"]], MANAGER_VIEW, now) for order in page
                           if access.manages_order(caller, order)],
                "next_page_token": token}

    def review(self, caller: CallerScope, order_id, decision, reason) -> dict:
        order = access.managed_order(caller, self.store.order(order_id))
        verdict = rules.decision(decision)
        why = rules.reason(reason, required=verdict == "reject", label="驳回原因")
        now = self.clock.now()
        rule = rules.REVIEW_APPROVE if verdict == "approve" else rules.REVIEW_REJECT
        step = rules.transition(rule, order, Actor(rules.MANAGER, caller.account_id), now, why)
        fields = {"reviewed_at": stamp(now), "reviewed_by": caller.account_id, "overdue": False}
        if verdict == "reject":
            fields["reject_reason"] = why
        after = self.store.step_order(order["_id"], step, fields, [published.ORDER_REVIEWED.build(
            order["tenant_id"], now, order_id=order["_id"], community_id=order["community_id"], decision=verdict,
            reason=why, reviewed_by=caller.account_id, reviewed_at=stamp(now))], unset=("review_due_at",))
        return self._manager_view(after)

    def merge(self, caller: CallerScope, order_id, into_order_id, reason) -> dict:
        order = access.managed_order(caller, self.store.order(order_id))
        if not isinstance(into_order_id, str) or not into_order_id.strip():
            raise InvalidArgument("缺少要合并到的订单", code="REQUIRED", field="into_order_id")
        target = self.store.order(into_order_id.strip())
        if not access.manages_order(caller, target):
            raise NotFound("目标订单不存在或不在您的管辖范围内", code="ORDER_NOT_FOUND", field="into_order_id")
        if target["_id"] == order["_id"]:
            raise InvalidArgument("不能合并到订单自身", code="MERGE_INTO_ITSELF", field="into_order_id")
        if target["community_id"] != order["community_id"]:
            raise InvalidArgument("只能合并到同一社区的订单", code="MERGE_OTHER_COMMUNITY", field="into_order_id")
        if rules.state_of(target) in rules.FINAL:
            raise rules.state_conflict(rules.state_of(target))
        why = rules.reason(reason, required=False, label="合并原因")
        now = self.clock.now()
        step = rules.transition(rules.MERGE, order, Actor(rules.MANAGER, caller.account_id), now, why)
        after = self.store.merge_order(order["_id"], step, {"merged_into": target["_id"], "reviewed_at": stamp(now),
                                                            "reviewed_by": caller.account_id, "overdue": False},
                                       target["_id"], target["status"], [published.ORDER_MERGED.build(
                                           order["tenant_id"], now, order_id=order["_id"],
                                           into_order_id=target["_id"], community_id=order["community_id"],
                                           merged_by=caller.account_id, merged_at=stamp(now))])
        return self._manager_view(after)

    def dispatch(self, caller: CallerScope, order_id, mode, team_id, volunteers_needed, fence_radius_m,
                 hours_cap) -> dict:
        order = access.managed_order(caller, self.store.order(order_id))
        settings = self.store.settings_in_force(order["tenant_id"])
        plan = rules.dispatch_fields(mode, team_id, volunteers_needed, fence_radius_m, hours_cap, settings)
        team_name = ""
        if plan.mode == rules.MODE_TEAM:
            team = self.store.team(plan.team_id)
            team_path = path_of(team) if team else []
            if (team is None or team.get("tenant_id") != order["tenant_id"] or team.get("status") == "dissolved"
                    or not (team.get("org_id") in path_of(order) or caller.manages_path(team_path))):
                raise NotFound("志愿服务队不存在或不在您的管辖范围内", code="TEAM_NOT_FOUND", field="team_id")
            team_name = team.get("name", "")
        now = self.clock.now()
        step = rules.transition(rules.DISPATCH, order, Actor(rules.MANAGER, caller.account_id), now)
        after = self.store.step_order(order["_id"], step, {
            "mode": plan.mode, "team_id": plan.team_id, "team_name": team_name,
            "volunteers_needed": plan.volunteers_needed, "places_left": plan.volunteers_needed, "claimed": 0,
            "pending": 0, "fence_radius_m": plan.fence_radius_m, "hours_cap": plan.hours_cap,
            "dispatched_at": stamp(now), "dispatched_by": caller.account_id}, [published.ORDER_DISPATCHED.build(
                order["tenant_id"], now, order_id=order["_id"], community_id=order["community_id"], mode=plan.mode,
                team_id=plan.team_id, volunteers_needed=plan.volunteers_needed, dispatched_by=caller.account_id,
                dispatched_at=stamp(now))])
        return self._manager_view(after)

    def resolve(self, caller: CallerScope, order_id, credit, reason) -> dict:
        order = access.managed_order(caller, self.store.order(order_id))
        if credit is None:
            credit = False
        if not isinstance(credit, bool):
            raise InvalidArgument("credit 必须是布尔值", code="INVALID_TYPE", field="credit")
        why = rules.reason(reason, required=True, label="处理意见")
        now = self.clock.now()
        step = rules.transition(rules.RESOLVE, order, Actor(rules.MANAGER, caller.account_id), now, why)
        fields = {"resolution": why, "resolved_at": stamp(now), "resolved_by": caller.account_id,
                  "resolved_credit": credit}
        if credit:
            after = self._credit_and_step(order, step, fields, now, [])
        else:
            after = self.store.step_order(order["_id"], step, fields, [])
        return self._manager_view(after)

    def _manager_view(self, order: dict) -> dict:
        return order_view(order, self.store.claims_of_order(order["_id"]), MANAGER_VIEW, self.clock.now())

    # --- the sweep's automatic confirmation ----------------------------------------------------------------------
    def auto_confirm(self, order: dict) -> dict:
        """Confirm a completed order no one disputed within ``auto_confirm_hours``, crediting its hours."""
        now = self.clock.now()
        step = rules.transition(rules.AUTO_CONFIRM, order, rules.THE_SYSTEM, now)
        return self._credit_and_step(order, step, {"confirmed_at": stamp(now)}, now, [
            published.ORDER_CONFIRMED.build(order["tenant_id"], now, order_id=order["_id"],
                                            community_id=order["community_id"], actor_kind=rules.SYSTEM,
                                            confirmed_at=stamp(now))])
