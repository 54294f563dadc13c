"""双报到: members report to their residential community; the community lists who reported there with the hours
they served there; a branch lists its members who have not reported (against the tenant's ``report_deadline``).

The community must have a volunteer profile (``SetCommunityProfile``): identity answers a member only its own
branch, so the profile, which keeps the node's name and path as its managers' identity answered them, is what
names and places the community; and a node with no profile takes no orders, so a report there would serve nothing.
"""
from __future__ import annotations

from servicekit.errors import NotFound
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields, path_of
from servicekit.timestamps import stamp

from services.volunteer import events as published
from services.volunteer.domain import reports as rules
from services.volunteer.domain.hours import branch_fields
from services.volunteer.access import require_member
from services.volunteer.usecases.teams import VolunteerTopic

def community_not_found() -> NotFound:
    return NotFound("社区不存在或未开通志愿服务", code="ORG_NOT_FOUND", field="community_id")


class CommunityReports(VolunteerTopic):
    def report(self, caller: CallerScope, community_id, reported_on) -> dict:
        me = self.me(caller)
        profile = self.store.profile(community_id) if isinstance(community_id, str) and community_id else None
        if profile is None or profile.get("tenant_id") != caller.tenant_id:
            raise community_not_found()
        current = self.store.current_report(caller.member_id)
        day = rules.reported_on(reported_on, self.today(), current)
        now = stamp(self.now())
        sequence = rules.next_sequence(current)
        report = {"_id": rules.report_id(caller.member_id, sequence), "tenant_id": caller.tenant_id,
                  "member_id": caller.member_id, "name": me["name"], "branch_id": me["branch_id"],
                  "branch_name": self.branch_name(caller, me["branch_id"]), **branch_fields(me["branch_path"]),
                  "community_id": profile["_id"], "community_name": profile.get("name", ""),
                  **ancestor_fields(path_of(profile)), "status": rules.CURRENT, "sequence": sequence,
                  "reported_on": day, "reported_at": now}
        event = published.MEMBER_REPORTED.build(caller.tenant_id, now, report_id=report["_id"],
                                                member_id=caller.member_id, branch_id=me["branch_id"],
                                                community_id=profile["_id"], reported_on=day)
        ended = {"ended_at": now, "ended_by": report["_id"]}
        return report_view(self.store.report_to_community(report, current, ended, [event]))

    def mine(self, caller: CallerScope) -> dict:
        current = self.store.current_report(require_member(caller))
        return report_view(current) if current else {}

    def reported_members(self, caller: CallerScope, org_id, page_size, page_token) -> dict:
        """The members with a current report to the communities of the manager's subtree, the latest first, each
        with the hours it served in that community."""
        org = self.managed_org(caller, org_id)
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.current_reports_under(org["path_ids"], skip, limit + 1), skip, limit)
        hours = self.store.hours_by_member_at([(doc["member_id"], doc["community_id"]) for doc in found])
        return {"members": [{**reported_member_view(doc),
                             "hours": round(hours.get((doc["member_id"], doc["community_id"]), 0.0), 2)}
                            for doc in found], "next_page_token": token}

    def unreported_members(self, caller: CallerScope, org_id) -> dict:
        """The party members of the manager's subtree with no current report, and whether the deadline has passed.
        The subtree's branches and their rosters come from identity in two calls, whatever the subtree's size."""
        org = self.managed_org(caller, org_id)
        deadline = self.store.settings_in_force(caller.tenant_id)["report_deadline"]
        branches = self.identity.branches_under(scope=caller.to_dict(), org_id=org["id"])["branches"]
        names = {branch["org_id"]: branch["name"] for branch in branches}
        rosters = self.identity.branch_rosters(tenant_id=caller.tenant_id, branch_ids=list(names)) if names else {}
        reported = self.store.reported_member_ids(org["path_ids"])
        return {"deadline": deadline,
                "members": rules.unreported(rosters, reported, deadline, self.today(), names)}


def report_view(report: dict) -> dict:
    return {"report_id": report["_id"], "member_id": report["member_id"], "member_name": report["name"],
            "branch_id": report["branch_id"], "branch_name": report.get("branch_name", ""),
            "community_id": report["community_id"], "community_name": report.get("community_name", ""),
            "reported_on": report["reported_on"], "status": report["status"], "reported_at": report["reported_at"],
            "ended_at": report.get("ended_at") or ""}


def reported_member_view(report: dict) -> dict:
    return {"member_id": report["member_id"], "name": report["name"], "branch_id": report["branch_id"],
            "branch_name": report.get("branch_name", ""), "community_id": report["community_id"],
            "community_name": report.get("community_name", ""), "reported_on": report["reported_on"]}
