"""The democratic appraisal (民主评议党员) in a real browser: in a branch of four, a member votes on the phone page
once (a second vote from a page still showing the form is refused in Chinese, and nothing more is counted); once
the vote has closed, neither the member nor the secretary sees a tally (a group of four voters is under five);
the secretary decides every grade with a reason on the console page and the member then sees its grade."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD
from tests.support.scoring import wait_for

VOTE_SECONDS = 60                 # from opening to the close: the page logs in and votes meanwhile


def test_a_member_votes_once_and_sees_no_tally_of_a_group_of_four(rpc, city, phone, new_context, base_url,
                                                                   screenshot):
    branch = city.branches[0][0]
    names = ["王芳", "刘强", "陈静", "杨帆"]
    members = [city.add_member(branch, name) for name in names]
    for number, member in enumerate(members):
        city.member_login(member, f"apr-m{number}")
    rpc.identity.create_account(scope=city.admin, username="apr-sec", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = api_client(base_url, city, "apr-sec")
    closes = datetime.now(timezone.utc) + timedelta(seconds=VOTE_SECONDS)
    year = str(datetime.now(timezone.utc).year)
    draft = secretary.call("CreateAppraisal", {"org_id": branch["id"], "year": year,
                                               "closes_at": closes.isoformat()})
    appraisal = secretary.call("OpenAppraisal", {"appraisal_id": draft["id"]})["id"]
    me, others = members[0], members[1:]
    for number, member in enumerate(others, start=1):        # three fellow members vote through the API
        api_client(base_url, city, f"apr-m{number}").call("CastVote", {"appraisal_id": appraisal, "choices": [
            {"member_id": m["id"], "grade": "qualified"} for m in members if m["id"] != member["id"]]})

    # the member's page: the vote form lists the three others
    phone.goto("/m/appraisal")
    log_in(phone, city.code, "apr-m0", PASSWORD)
    form = phone.locator("#vote-form")
    expect(form.locator("select")).to_have_count(3)
    stale = phone.context.new_page()                 # a second tab, still showing the form when the first votes
    stale.goto("/m/appraisal")
    expect(stale.locator("#vote-form select")).to_have_count(3)
    for other, grade in zip(others, ("优秀", "合格", "基本合格")):
        form.get_by_label(f"对{other['name']}的评价").select_option(label=grade)
    form.get_by_role("button", name="提交投票").click()
    expect(phone.locator("#flash")).to_contain_text("投票成功，感谢参与")
    expect(phone.locator("#vote-form")).to_have_count(0)
    expect(phone.get_by_text("您已投票")).to_be_visible()
    screenshot(phone, "member-appraisal-voted")

    stale_form = stale.locator("#vote-form")
    for other in others:
        stale_form.get_by_label(f"对{other['name']}的评价").select_option(label="不合格")
    stale_form.get_by_role("button", name="提交投票").click()
    expect(stale.locator("#vote-error")).to_have_text("您已经投过票了，每人只能投一次")
    assert secretary.call("GetAppraisal", {"appraisal_id": appraisal})["voter_count"] == 4
    stale.close()

    # the vote closes at its time: four voters, so no tally is shown to anyone
    wait_for(lambda: secretary.call("GetAppraisal", {"appraisal_id": appraisal})["state"] == "closed",
             timeout=VOTE_SECONDS + 60)
    phone.reload()
    expect(phone.locator("#my-tally")).to_have_text("参与投票人数不足 5 人，不公布计票结果。")
    expect(phone.locator("main")).not_to_contain_text("票，")
    mine = api_client(base_url, city, "apr-m0").call("GetAppraisal", {"appraisal_id": appraisal})
    assert mine["me"]["tally_shown"] is False and not any((mine["me"].get("tally") or {}).values())
    closed = secretary.call("GetAppraisal", {"appraisal_id": appraisal})
    assert not any(row["tally_shown"] or any((row.get("tally") or {}).values()) for row in closed["members"])
    screenshot(phone, "member-appraisal-closed")

    # the secretary's console: no tally either; every grade decided with a reason
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "apr-sec", f"/console/appraisal?org={branch['id']}&id={appraisal}")
    rows = page.locator("#member-rows tbody tr")
    expect(rows).to_have_count(4)
    for index in range(4):
        expect(rows.nth(index).locator("td.tally")).to_have_text("投票人数不足 5 人，不公布计票结果")
    decide = page.locator("#decide-form")
    for member in members:
        row = decide.locator(f".decide-row[data-member='{member['id']}']")
        row.get_by_label("等次").select_option(label="合格")
        row.get_by_label("评定理由").fill("能够履行党员义务")
    decide.locator(f".decide-row[data-member='{me['id']}']").get_by_label("等次").select_option(label="优秀")
    decide.get_by_role("button", name="提交评定结果").click()
    expect(page.locator("#detail-state")).to_have_text("已评定")
    expect(page.locator(f"#member-rows tbody tr[data-member='{me['id']}'] td.grade")).to_have_text(
        "优秀（能够履行党员义务）")
    screenshot(page, "console-appraisal-decided")

    phone.reload()
    expect(phone.locator("#my-grade")).to_have_text("评定等次：优秀")
