"""The activity page shows the uploaded photos: thumbnails the browser loads itself from the gateway (the session
cookie, no script in between), lazily; a click opens the photo as uploaded in a new tab. A secretary of another
branch gets nothing, not even by the photo's URL."""
from __future__ import annotations

import base64
import io

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import console_login
from tests.support.attendance import photo
from tests.support.identity import PASSWORD

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def on_its_side(size=(1000, 500)) -> bytes:
    """A JPEG stored on its side with EXIF orientation 6, as a phone held upright writes it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def loaded_size(page, upload_id: str) -> tuple[int, int]:
    """The natural size of the upload's thumbnail once the browser has loaded it (0×0 if it failed)."""
    thumb = page.locator(f'img.upload-thumb[data-upload="{upload_id}"]')
    thumb.scroll_into_view_if_needed()              # loading="lazy": it loads when it comes near the viewport
    page.wait_for_function("img => img.complete", arg=thumb.element_handle())
    return tuple(thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]"))


def test_the_activity_page_shows_thumbnails_that_open_the_photo(rpc, themed_day, new_context, screenshot):
    day = themed_day
    activity_id = day.activity["id"]
    context = new_context(**DESKTOP)
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    console_login(page, day.city, day.secretary_username, f"/console/activity?id={activity_id}")

    # uploaded from the page: the list shows its thumbnail at once, 320 px on the long side
    page.locator("#photo-file").set_input_files(
        {"name": "会场.png", "mimeType": "image/png", "buffer": photo("PNG", (1000, 500))})
    page.get_by_role("button", name="上传照片").click()
    expect(page.locator("#uploads-status")).to_contain_text("照片 会场.png 已上传")
    [upload] = rpc.attendance.list_uploads(scope=day.secretary, activity_id=activity_id)["uploads"]
    thumb = page.locator(f'img.upload-thumb[data-upload="{upload["id"]}"]')
    expect(thumb).to_have_attribute("loading", "lazy")
    expect(thumb).to_have_attribute("src", f"/v1/activities/{activity_id}/uploads/{upload['id']}/photo?size=thumb")
    assert loaded_size(page, upload["id"]) == (320, 160)

    # a phone's photo stored on its side is shown upright
    sideways = rpc.attendance.add_photo(scope=day.secretary, activity_id=activity_id, content_type="image/jpeg",
                                        content=base64.b64encode(on_its_side()).decode())
    page.reload()
    assert loaded_size(page, sideways["id"]) == (160, 320)
    assert loaded_size(page, upload["id"]) == (320, 160)
    screenshot(page, "console-activity-photos")

    # a click on the thumbnail opens the photo as uploaded in a new tab
    with context.expect_page() as opened:
        thumb.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url.endswith(f"/v1/activities/{activity_id}/uploads/{upload['id']}/photo")
    assert full.evaluate("document.contentType") == "image/png"
    assert full.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]") == [1000, 500]
    assert refused == []                                # the pages' CSP lets the same origin's images in


def test_a_secretary_of_another_branch_cannot_load_the_photo_by_its_url(rpc, city, themed_day, new_context):
    day = themed_day
    upload = rpc.attendance.add_photo(scope=day.secretary, activity_id=day.activity["id"], content_type="image/png",
                                      content=base64.b64encode(photo("PNG", (200, 200))).decode())
    rpc.identity.create_account(scope=city.admin, username="sec-photo-other", password=PASSWORD,
                                role="branch_secretary", org_id=city.branches[0][1]["id"])
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "sec-photo-other", "/console/")
    url = f"/v1/activities/{day.activity['id']}/uploads/{upload['id']}/photo?size=thumb"
    answer = page.request.get(url)                      # the page's own session cookie
    assert answer.status == 404 and answer.json()["error"]["code"] == "ACTIVITY_NOT_FOUND"
    assert answer.headers["content-type"].startswith("application/json")
    shown = page.goto(url)
    assert shown.status == 404 and "image" not in shown.headers["content-type"]
