"""The seeded world of the refusal matrix (tests/e2e/test_refusal_matrix.py), built through the gateway over HTTP.

City A (the target tenant): two counties, each with a township committee and two branches; in county 1's first
branch ("the branch") a member with a login, a fellow member, a secretary, a pending transfer into it from
the neighbour branch, an activist stepped up to development target (so a development publicity opens), and one
object of each kind the operations name: a themed-day activity with a leave, a written record, a photo and a
rectification; a ledger entry; a column, a published notice, an attachment, a learning package with a study
session, a bank question, a quiz with an attempt, a letter, an objection; a community with a volunteer team, an
event and a citizen's order. City B is another tenant with its own admin. Each caller's token is kept by name.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from gateway.client import ApiError, HttpClient
from tests.support.attendance import VENUE, photo
from tests.support.identity import PASSWORD, member_fields
from tests.support.volunteer import HOME, order_fields, register_citizen, unique_phone

CHINA = timezone(timedelta(hours=8))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def wait_for(find, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        found = find()
        if found:
            return found
        assert time.monotonic() < deadline, "the seeded world did not settle"
        time.sleep(0.2)


class World:
    """``refs``: the objects a request names, by the ``@name`` the matrix uses; ``tokens``: each caller's token."""

    def __init__(self, url: str, operator_password: str):
        self.url = url
        self.refs: dict[str, object] = {}
        self.tokens: dict[str, str] = {}
        operator = HttpClient(url)
        operator.login("", "operator", operator_password)
        self.code = f"rm-{uuid.uuid4().hex[:8]}"
        other_code = f"rm-{uuid.uuid4().hex[:8]}"
        created = operator.call("CreateTenant", {"code": self.code, "name": "拒绝市", "admin_username": "admin",
                                                 "admin_password": PASSWORD})
        other = operator.call("CreateTenant", {"code": other_code, "name": "外市", "admin_username": "admin",
                                               "admin_password": PASSWORD})
        self.tenant_ids = [created["tenant"]["id"], other["tenant"]["id"]]
        self.admin = self.client("admin")
        self.tokens["another tenant"] = self.login_token("admin", other_code)
        root = created["root_org"]["id"]
        counties, committees, branches = [], [], []
        for number in (1, 2):
            county = self.admin.call("CreateOrg", {"parent_id": root, "name": f"第{number}县", "kind": "county"})
            committee = self.admin.call("CreateOrg", {"parent_id": county["id"], "name": f"第{number}镇党委",
                                                      "kind": "committee", "category": "township", "field": "rural"})
            branches.append([self.admin.call("CreateOrg", {"parent_id": committee["id"], "name": f"第{number}镇第{i}支部",
                                                           "kind": "branch", "field": "rural"})["id"]
                             for i in (1, 2)])
            counties.append(county["id"])
            committees.append(committee["id"])
            self.account(f"county{number}", "org_admin", org_id=county["id"])
        branch, neighbour = branches[0]
        self.refs.update(tenant_code=self.code, root=root, county=counties[0], committee=committees[0], branch=branch,
                         neighbour=neighbour, far_branch=branches[1][0])
        self.county_admin = self.client("county1")
        self.tokens["another county"] = self.login_token("county2")
        # the branch: its member (a caller), a fellow member and the branch's secretary (a caller)
        me = self.member(branch, "本支部党员")
        self.refs["me"] = me
        self.account("me", "member", member_id=me)
        self.refs["member"] = self.member(branch, "同支部党员")
        self.account("secretary", "branch_secretary", org_id=branch)
        self.account("neighbour-secretary", "branch_secretary", org_id=neighbour)
        neighbour_member = self.member(neighbour, "邻支部党员")
        self.account("neighbour-member", "member", member_id=neighbour_member)
        self.tokens["the branch's member"] = self.login_token("me")
        self.tokens["the branch's secretary"] = self.login_token("secretary")
        self.tokens["another branch's secretary"] = self.login_token("neighbour-secretary")
        self.tokens["another branch's member"] = self.login_token("neighbour-member")
        self.member_client = HttpClient(url, self.tokens["the branch's member"])
        self.secretary = HttpClient(url, self.tokens["the branch's secretary"])
        self.seed_identity()
        self.seed_attendance()
        self.seed_content()
        self.seed_scoring()
        self.seed_volunteer()

    # --- helpers ----------------------------------------------------------------------------------------------
    def login_token(self, username: str, code: str | None = None) -> str:
        return HttpClient(self.url).login(code or self.code, username, PASSWORD)["access_token"]

    def client(self, username: str) -> HttpClient:
        return HttpClient(self.url, self.login_token(username))

    def account(self, username: str, role: str, **where) -> dict:
        return self.admin.call("CreateAccount", {"username": username, "password": PASSWORD, "role": role, **where})

    def member(self, branch: str, name: str, **overrides) -> str:
        return self.admin.call("CreateMember", member_fields(branch, name, **overrides))["id"]

    # --- each service's objects -------------------------------------------------------------------------------
    def seed_identity(self):
        refs, admin = self.refs, self.admin
        spare = self.member(refs["branch"], "备用账号党员")
        refs["account"] = self.account("spare", "member", member_id=spare)["id"]
        refs["session"] = HttpClient(self.url).login(self.code, "spare", PASSWORD)["session_id"]
        # a transfer into the branch: its secretary decides it, the sending neighbour's only sees it
        mover = self.member(refs["neighbour"], "转入者")
        refs["transfer"] = admin.call("RequestTransfer", {"member_id": mover, "to_branch_id": refs["branch"],
                                                          "reason": "工作调动"})["id"]
        activist = self.member(refs["branch"], "入党积极分子", status="activist",
                               status_dates={"applicant": "2024-03-01", "activist": "2024-09-01"})
        refs["activist"] = activist
        today = datetime.now(CHINA).date().isoformat()
        admin.call("ChangeMemberStatus", {"member_id": activist, "status": "development_target", "on": today})
        # party dues: the fellow member's standard and a payment, whose receipt only the branch and it may read
        admin.call("SetDuesStandard", {"member_id": refs["member"], "category": "student"})
        this_month = datetime.now(CHINA).strftime("%Y-%m")
        refs["dues_receipt"] = admin.call("RecordDuesPayment", {"member_id": refs["member"], "months": [this_month],
                                                                "amount_fen": 20})["receipt_no"]

    def seed_attendance(self):
        refs = self.refs
        day = datetime.now(CHINA).date() + timedelta(days=5)
        refs["month"] = day.strftime("%Y-%m")
        # the due dates stay inside the day's month, whatever today's date
        due_from = max(day - timedelta(days=3), day.replace(day=1))
        month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        due_to = min(day + timedelta(days=3), month_end)
        theme = self.county_admin.call("IssueTheme", {"org_id": refs["county"], "month": refs["month"],
                                                      "title": "学习党章", "due_from": due_from.isoformat(),
                                                      "due_to": due_to.isoformat()})
        activities = self.secretary.call("ListActivities", {"org_id": refs["branch"], "month": refs["month"]})
        activity = next(a for a in activities["activities"] if a["theme_id"] == theme["theme"]["id"])["id"]
        refs["activity"], refs["theme"] = activity, theme["theme"]["id"]
        self.secretary.call("SubmitPlan", {"activity_id": activity, "date": day.isoformat(), "start_time": "10:00",
                                           "end_time": "11:30", "venue_name": "党员活动室", "venue_lat": VENUE[0],
                                           "venue_lng": VENUE[1]})
        self.county_admin.call("ReviewPlan", {"activity_id": activity, "decision": "approved"})
        refs["qr_token"] = self.secretary.call("GetQrCode", {"activity_id": activity, "direction": "in",
                                                             "mode": "rotating"})["token"]
        refs["leave"] = self.member_client.call("RequestLeave", {"activity_id": activity, "reason": "出差"})["id"]
        refs["upload"] = self.secretary.call("AddTextRecord", {"activity_id": activity, "text": "会议记录"})["id"]
        refs["photo_upload"] = self.secretary.call("AddPhoto", {"activity_id": activity, "content_type": "image/png",
                                                                "content": photo()})["id"]
        refs["rectification"] = self.county_admin.call("OpenRectification", {
            "activity_id": activity, "title": "补充记录", "due_on": (day + timedelta(days=30)).isoformat()})["id"]
        refs["meeting"] = self.secretary.call("PlanMeeting", {
            "branch_id": refs["branch"], "meeting_type": "lesson", "date": day.isoformat(), "start_time": "15:00",
            "end_time": "16:00", "venue_name": "党员活动室", "venue_lat": VENUE[0], "venue_lng": VENUE[1]})["id"]

    def seed_scoring(self):
        """A deduction from the branch's member, once scoring has learned of it (its quiz points)."""
        def deducted():
            try:
                return self.admin.call("AddDeduction", {"member_id": self.refs["me"], "code": "LATE_DUES",
                                                        "reason": "三个月未交"})["id"]
            except ApiError as error:
                if error.code != "MEMBER_NOT_FOUND":
                    raise
                return None
        self.refs["entry"] = wait_for(deducted)
        # the branch's democratic appraisal of this year, opened by its secretary (votes until tomorrow)
        now = datetime.now(timezone.utc)
        appraisal = self.secretary.call("CreateAppraisal", {"org_id": self.refs["branch"], "year": str(now.year),
                                                            "closes_at": iso(now + timedelta(days=1))})
        self.refs["appraisal"] = self.secretary.call("OpenAppraisal", {"appraisal_id": appraisal["id"]})["id"]

    def seed_content(self):
        refs, county_admin = self.refs, self.county_admin
        now = datetime.now(timezone.utc)
        refs["column"] = county_admin.call("CreateColumn", {"org_id": refs["county"], "name": "矩阵通知",
                                                            "review_required": False})["id"]
        refs["item"] = county_admin.call("CreateItem", {"column_id": refs["column"], "kind": "notice",
                                                        "title": "关于开展主题党日的通知", "body": "请按时参加。"})["id"]
        county_admin.call("SubmitItem", {"item_id": refs["item"]})
        refs["attachment"] = self.secretary.call("UploadAttachment", {
            "org_id": refs["branch"], "media_type": "text/plain", "filename": "材料.txt",
            "content": "学习材料".encode()})["attachment_id"]
        package = county_admin.call("CreatePackage", {
            "org_id": refs["county"], "month": now.strftime("%Y-%m"), "title": "本月学习套餐",
            "due_on": (now + timedelta(days=20)).date().isoformat(),
            "items": [{"key": "v1", "title": "党章学习视频", "kind": "video", "url": "https://example.org/v1.mp4",
                       "min_seconds": 60, "cap_seconds": 600}]})
        refs["package"] = package["id"]
        county_admin.call("PublishPackage", {"package_id": refs["package"]})
        refs["study_session"] = self.member_client.call("StartStudy", {"package_id": refs["package"],
                                                                       "item_key": "v1"})["session_id"]
        refs["question"] = county_admin.call("CreateBankQuestion", {
            "org_id": refs["county"], "kind": "single", "stem": "党的根本宗旨是什么？",
            "options": ["全心全意为人民服务", "发展经济"], "correct": ["A"], "category": "党章", "difficulty": 2})["id"]
        refs["quiz"] = county_admin.call("CreateQuiz", {
            "org_id": refs["county"], "kind": "quiz", "title": "党章测试", "open_at": iso(now - timedelta(minutes=5)),
            "close_at": iso(now + timedelta(days=1)), "max_attempts": 3, "review": "after_submit",
            "draw": [{"category": "党章", "count": 1, "points": 2}]})["id"]
        # a finished attempt earns the member points, so scoring knows it; a second one stays open
        finished = self.member_client.call("StartQuizAttempt", {"quiz_id": refs["quiz"]})
        self.member_client.call("SaveQuizAnswer", {"attempt_id": finished["id"], "choices": ["A"],
                                                   "question_id": finished["questions"][0]["id"]})
        self.member_client.call("SubmitQuizAttempt", {"attempt_id": finished["id"]})
        attempt = self.member_client.call("StartQuizAttempt", {"quiz_id": refs["quiz"]})
        refs["attempt"] = attempt["id"]
        refs["attempt_question"] = attempt["questions"][0]["id"]
        refs["letter"] = self.member_client.call("WriteLetter", {"to_kind": "branch", "subject": "建议",
                                                                 "body": "建议主题党日安排在周末。"})["id"]

        def publicity():
            found = county_admin.call("ListPublicities", {"org_id": refs["county"]})["publicities"]
            return found[0]["id"] if found else None
        refs["publicity"] = wait_for(publicity)
        refs["objection"] = self.member_client.call("ObjectToPublicity", {
            "publicity_id": refs["publicity"], "reason": "需进一步了解。", "anonymous": True})["id"]

    def seed_volunteer(self):
        refs = self.refs
        community = self.admin.call("CreateOrg", {"parent_id": refs["committee"], "name": "幸福社区",
                                                  "kind": "general_branch", "field": "community"})["id"]
        refs["community"] = community
        self.county_admin.call("SetCommunityProfile", {"org_id": community, "address": "幸福路1号", **HOME,
                                                       "open": True})
        phone = unique_phone()
        register_citizen(self.url, self.code, phone)
        citizen = HttpClient(self.url)
        citizen.login(self.code, phone, PASSWORD)
        self.tokens["citizen"] = citizen.token
        refs["order"] = citizen.call("PlaceOrder", order_fields(community))["order_id"]
        refs["team"] = self.county_admin.call("CreateTeam", {"org_id": community, "name": "红色先锋队"})["team_id"]
        starts = datetime.now(CHINA).replace(microsecond=0) + timedelta(days=2)
        refs["event"] = self.county_admin.call("CreateTeamEvent", {
            "team_id": refs["team"], "title": "清扫楼道", "address": "幸福小区", **HOME, "fence_radius_m": 300,
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": 5,
            "hours_cap": 2.0})["event_id"]
        refs["photo"] = self.completion_photo(citizen, community)

    def completion_photo(self, citizen: HttpClient, community: str) -> str:
        """An order reviewed, opened for claiming, claimed and checked in by the branch's member, with a photo."""
        order = citizen.call("PlaceOrder", order_fields(community, description="帮忙买菜"))["order_id"]
        self.county_admin.call("ReviewOrder", {"order_id": order, "decision": "approve"})
        self.county_admin.call("DispatchOrder", {"order_id": order, "mode": "claim", "volunteers_needed": 1})
        self.member_client.call("ReportToCommunity", {"community_id": community})
        self.member_client.call("ClaimOrder", {"order_id": order})
        self.member_client.call("CheckInService", {"order_id": order, **HOME, "accuracy_m": 8.0})
        return self.member_client.call("AddCompletionPhoto", {"order_id": order, "content_type": "image/jpeg",
                                                              "content": photo("JPEG")})["photo_id"]


def add_derived_refs(world: "World") -> None:
    """Values the requests share that are not objects: dates in the activity's month, files, instants."""
    from tests.e2e.refusal_fields import members_csv
    refs = world.refs
    now = datetime.now(timezone.utc)
    month_start = datetime.strptime(refs["month"] + "-01", "%Y-%m-%d")
    refs.update(due_from=(month_start + timedelta(days=27)).date().isoformat(),
                due_to=(month_start + timedelta(days=27)).date().isoformat(),
                now=iso(now), tomorrow=iso(now + timedelta(days=1)),
                last_month=(now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
                starts=(datetime.now(CHINA).replace(microsecond=0) + timedelta(days=3)).isoformat(),
                ends=(datetime.now(CHINA).replace(microsecond=0) + timedelta(days=3, hours=2)).isoformat(),
                png=photo(), jpeg=photo("JPEG"), members_csv=members_csv(refs),
                fix={"lat": VENUE[0], "lng": VENUE[1], "accuracy_m": 10.0, "mock_location": False,
                     "device_id": "refusal-matrix", "taken_at": iso(now)})
