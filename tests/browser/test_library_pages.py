"""The library's pages in a real browser: the console's 资料附件 (upload a file for a node, the list with type,
size, hash and download counts, a duplicate and a disguised file refused in Chinese, a download counted) and the
member's search on the phone (results with the words found highlighted, opening the item; other counties' items
never shown)."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD
from tests.unit.content import sample_files as files


def test_a_county_admin_uploads_lists_and_downloads_attachments(city, desktop, base_url, screenshot):
    branch = city.branches[0][0]
    page = desktop
    console_login(page, city, "county1", f"/console/library?org={branch['id']}")
    expect(page.locator("#no-attachments")).to_be_visible()

    page.locator("#file").set_input_files({"name": "学习材料.pdf", "mimeType": "application/pdf", "buffer": files.PDF})
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#status")).to_have_text(f"已上传“学习材料.pdf”（{len(files.PDF)} B）。")
    rows = page.locator("#attachment-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("PDF")
    expect(rows.first.locator("td").nth(4)).to_have_text("0")

    page.locator("#file").set_input_files({"name": "副本.pdf", "mimeType": "application/pdf", "buffer": files.PDF})
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#status")).to_have_text("该组织已有相同内容的文件“学习材料.pdf”，未重复保存。")
    page.locator("#file").set_input_files({"name": "通知.pdf", "mimeType": "application/pdf", "buffer": files.PNG})
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#status")).to_have_text("文件内容与声明的类型不符，请确认文件后重新上传")
    expect(rows).to_have_count(1)

    with page.expect_download() as download:
        rows.first.get_by_role("link", name="学习材料.pdf").click()
    assert download.value.suggested_filename == "学习材料.pdf"
    assert open(download.value.path(), "rb").read() == files.PDF
    expect(rows.first.locator("td").nth(4)).to_have_text("1")
    screenshot(page, "console-library")
    listed = api_client(base_url, city, "county1").call("ListAttachments", {"org_id": branch["id"]})["attachments"]
    assert [(a["filename"], a["downloads"]) for a in listed] == [("学习材料.pdf", 1)]


def test_a_member_searches_and_sees_the_words_highlighted(rpc, city, phone, screenshot):
    branch = city.branches[0][0]
    member = city.add_member(branch, "孙搜索")
    username = f"s{uuid.uuid4().hex[:6]}"
    city.member_login(member, username)
    published = {}
    for org, title, body in ((branch, "学习党章心得", "支部党员交流学习体会。"),
                             (city.root, "全市读书班安排", "请各级党组织组织党员学习党章。"),
                             (city.branches[1][0], "第二县党章学习", "")):
        column = rpc.content.create_column(scope=city.admin, org_id=org["id"], name=f"检索{uuid.uuid4().hex[:6]}",
                                           review_required=False)
        item = rpc.content.create_item(scope=city.admin, column_id=column["id"], kind="article", title=title,
                                       body=body)
        rpc.content.submit_item(scope=city.admin, item_id=item["id"])
        published[title] = item["id"]

    phone.goto("/m/search?q=党章")
    log_in(phone, city.code, username, PASSWORD)
    results = phone.locator("#results .search-result")
    expect(results).to_have_count(2)
    expect(results.first.locator("h3 a")).to_have_text("学习党章心得")
    expect(results.first.locator("h3 mark")).to_have_text("党章")
    expect(results.first.locator("h3 a")).to_have_attribute("href", f"/m/item?id={published['学习党章心得']}")
    expect(results.nth(1).locator(".snippet mark")).to_have_text("党章")
    expect(phone.locator("#summary")).to_have_text("“党章”共找到 2 条结果：")
    expect(phone.locator(".tabs a[aria-current='page']")).to_have_text("资讯")
    expect(phone.locator("#more")).to_be_hidden()
    screenshot(phone, "member-search")

    phone.locator("#q").fill("没有这个词")
    phone.get_by_role("button", name="搜索").click()
    expect(phone.locator("#status")).to_contain_text("没有找到相关内容")
    phone.goto("/m/search")
    expect(phone.locator("#recent a")).to_have_text(["没有这个词", "党章"])
