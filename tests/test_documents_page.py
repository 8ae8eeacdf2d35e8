"""The documents panel of the chat page in a real headless Chromium against a real server: listing the
indexed articles, uploading (file picker and drag-and-drop) with progress and per-file outcomes, deleting
after a confirm step, and the API key those writes need.

These servers write to their index, so each runs over its own copy of the session's seed index; a check
at the end makes sure the shared index and the corpus were not touched.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
KEY = "docs-key-7b2e91"
TOWN = (
    "青禾镇风车建设情况\n\n"
    "青禾镇位于云岭山区东麓，以山地风力资源丰富著称。\n\n"
    "据青禾镇政府介绍，截至2031年底，青禾镇共建成风车417座，年发电量达到9.6亿千瓦时。\n\n"
    "镇政府表示，下一步将把风车建设与山地旅游结合起来。\n"
)
TOWN_QUESTION = "青禾镇共建成风车多少座？"
HARBOUR = (
    "白鹭港码头扩建\n\n"
    "白鹭港是海湾西岸的一座小港。\n\n"
    "白鹭港码头扩建工程完工后，共有泊位58个，可停靠五万吨级货轮。\n"
)
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
LONG = 90_000  # ms: a write encodes the article on a shared 2-core machine


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file under folders with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for f in folders for p in sorted(f.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def copy_index(seed_index, tmp_path_factory):
    """A function making a fresh copy of the seed index; the seed index and the corpus must be as they
    were when the module is done."""
    before = _snapshot(seed_index, CORPUS)
    yield lambda: shutil.copytree(seed_index, tmp_path_factory.mktemp("live") / "index")
    assert _snapshot(seed_index, CORPUS) == before, "the shared seed index or corpus was changed"


@pytest.fixture(scope="module")
def writable_server(copy_index, serve_index) -> str:
    """A real server over its own copy of the seed index, writes allowed with KEY."""
    with serve_index(copy_index(), QA_API_KEY=KEY) as (_, url):
        yield url


def _file(name: str, content: str | bytes) -> dict:
    """A file for set_input_files, made in memory."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return {"name": name, "mimeType": "text/plain", "buffer": data}


def _open_panel(browser, url: str, **page_options):
    """A fresh page with the documents panel open and its list loaded."""
    page = browser.new_page(**page_options)
    page.goto(url)
    page.click("#documents-open")
    expect(page.locator("#documents-view")).to_be_visible()
    expect(page.locator("#documents-list")).to_have_attribute("data-state", "loaded")
    return page


def _count(page) -> int:
    return int(page.locator("#documents-count").get_attribute("data-count"))


def _upload(page, *files: dict) -> None:
    """Choose files with the file picker and wait until the server's outcomes are shown."""
    page.set_input_files("#documents-files", list(files))
    _wait_for_reply(page, "done")


def _wait_for_reply(page, expected: str) -> None:
    """Wait until the upload has its reply, which must be a success ("done") or a refusal ("failed")."""
    progress = page.locator("#upload-progress")
    expect(progress).to_have_attribute("data-state", re.compile("^(done|failed)$"), timeout=LONG)
    assert progress.get_attribute("data-state") == expected, page.locator("#documents-status").inner_text()


def _outcome(page, name: str):
    return page.locator("#upload-results .outcome").filter(has=page.locator(".outcome-name", has_text=name))


def _ask(page, question: str):
    """Ask in the chat (the panel closed) and return the reply once it is there."""
    replies = page.locator(".message.bot:not(.pending)")
    before = replies.count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    expect(replies).to_have_count(before + 1, timeout=30_000)
    return replies.last


def test_an_uploaded_article_is_listed_answers_questions_and_is_gone_once_deleted(writable_server, browser):
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(writable_server)
    page.click("#documents-open")
    listed = page.locator("#documents-list .document")
    expect(listed).to_have_count(2)
    assert _count(page) == 2 and "共 2 篇" in page.locator("#documents-count").inner_text()
    assert "两会专访" in listed.nth(0).inner_text() + listed.nth(1).inner_text()
    # Built articles carry their build time too ("" would read 初始收录), shown in the reader's time zone.
    assert re.search(r"添加于 \d{4}-\d\d-\d\d \d\d:\d\d$|初始收录$", listed.first.locator(".document-meta").inner_text())

    page.fill("#api-key", KEY)
    _upload(page, _file("青禾镇.txt", TOWN))
    assert page.evaluate("document.getElementById('upload-progress').value") == 100
    added = _outcome(page, "青禾镇.txt")
    expect(added).to_have_attribute("data-status", "added")
    assert "已添加" in added.inner_text()
    article_id = added.get_attribute("data-article-id")
    assert article_id and article_id in added.locator(".outcome-detail").inner_text()
    item = page.locator(f'#documents-list .document[data-id="{article_id}"]')
    expect(item).to_have_count(1)
    assert _count(page) == 3 and "添加于 20" in item.locator(".document-meta").inner_text()

    page.click("#documents-close")
    expect(page.locator("#documents-view")).to_be_hidden()
    reply = _ask(page, TOWN_QUESTION)
    assert reply.get_attribute("data-state") == "answered" and "417" in reply.locator(".answer").inner_text()

    page.click("#documents-open")
    expect(item).to_have_count(1)
    item.locator("button", has_text="删除").click()
    expect(item.locator(".confirm-question")).to_contain_text("确定删除")
    assert page.evaluate("document.activeElement.textContent") == "取消", "the safe choice has the focus"
    page.keyboard.press("Enter")  # cancel: nothing is deleted
    expect(item.locator(".confirm-question")).to_have_count(0)
    assert _count(page) == 3
    item.locator("button", has_text="删除").click()
    item.locator("button", has_text="确定删除").click()
    removed = page.locator("#upload-results .outcome")
    expect(removed).to_have_attribute("data-status", "removed", timeout=LONG)
    expect(item).to_have_count(0)
    assert _count(page) == 2

    page.click("#documents-close")
    reply = _ask(page, TOWN_QUESTION)
    assert "417" not in reply.inner_text(), "the deleted article still answers"
    assert problems == []
    page.close()


def test_a_dropped_batch_adds_the_good_file_and_says_why_not_the_others(writable_server, browser):
    page = _open_panel(browser, writable_server)
    page.fill("#api-key", KEY)
    count = _count(page)
    # What a drag-and-drop from the desktop delivers: a drop event carrying the files.
    files = page.evaluate_handle(
        """([harbour, binary]) => {
               const transfer = new DataTransfer();
               transfer.items.add(new File([harbour], "白鹭港.txt", { type: "text/plain" }));
               transfer.items.add(new File([""], "空白.txt", { type: "text/plain" }));
               transfer.items.add(new File([new Uint8Array(binary)], "图片.txt", { type: "text/plain" }));
               return transfer; }""",
        [HARBOUR, list(BINARY)],
    )
    page.locator("#drop-zone").dispatch_event("dragover", {"dataTransfer": files})
    page.locator("#drop-zone").dispatch_event("drop", {"dataTransfer": files})
    _wait_for_reply(page, "done")

    expect(page.locator("#upload-results .outcome")).to_have_count(3)
    assert _outcome(page, "白鹭港.txt").get_attribute("data-status") == "added"
    for name in ("空白.txt", "图片.txt"):
        rejected = _outcome(page, name)
        assert rejected.get_attribute("data-status") == "rejected"
        assert "未收录" in rejected.inner_text() and rejected.locator(".outcome-reason").inner_text().strip()
        colour = rejected.evaluate("element => getComputedStyle(element).backgroundColor")
        assert colour != _outcome(page, "白鹭港.txt").evaluate("element => getComputedStyle(element).backgroundColor")
    expect(page.locator("#documents-status")).to_have_attribute("data-kind", "warning")
    assert _count(page) == count + 1

    _upload(page, _file("白鹭港-again.txt", HARBOUR))  # the same text again
    assert _outcome(page, "白鹭港-again.txt").get_attribute("data-status") == "duplicate"
    assert _count(page) == count + 1
    page.close()


def test_a_wrong_or_missing_key_is_refused_and_the_key_field_takes_the_focus(writable_server, browser):
    page = _open_panel(browser, writable_server)
    count = _count(page)
    for key in ("not-the-key", ""):
        page.fill("#api-key", key)
        page.set_input_files("#documents-files", [_file("青禾镇.txt", TOWN)])
        _wait_for_reply(page, "failed")
        status = page.locator("#documents-status")
        assert "API 密钥缺失或错误" in status.inner_text() and status.get_attribute("data-kind") == "error"
        assert page.evaluate("document.activeElement.id") == "api-key"
        assert _count(page) == count
    page.close()


def test_a_server_without_a_key_says_how_to_enable_writes(copy_index, serve_index, browser):
    with serve_index(copy_index()) as (_, url):
        detail = httpx.post(url + "/api/documents", json={"title": "t", "text": "x", "source": ""}).json()["detail"]
        page = _open_panel(browser, url)
        page.fill("#api-key", KEY)
        page.set_input_files("#documents-files", [_file("青禾镇.txt", TOWN)])
        _wait_for_reply(page, "failed")
        status = page.locator("#documents-status").inner_text()
        assert "没有开放写操作" in status and detail in status and "QA_API_KEY" in status
        first = page.locator("#documents-list .document").first
        first.locator("button", has_text="删除").click()
        first.locator("button", has_text="确定删除").click()
        expect(page.locator("#documents-status")).to_contain_text(detail)
        expect(page.locator("#documents-list .document")).to_have_count(2)
        page.close()


def test_the_panel_with_the_keyboard_at_phone_width(writable_server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(writable_server)
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "documents-open":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#documents-list")).to_have_attribute("data-state", "loaded")
    assert page.evaluate("document.activeElement.closest('#documents-view') !== null"), "focus moves into the panel"
    box = page.locator("#documents-view").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate(
        """() => [...document.querySelectorAll('#documents-view button, #documents-view .document, #api-key, .file-button')]
                 .every(e => { const b = e.getBoundingClientRect(); return b.left >= 0 && b.right <= innerWidth; })"""
    ), "something in the panel runs off the side"
    page.keyboard.press("Escape")
    expect(page.locator("#documents-view")).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "documents-open", "focus returns to the button"
    page.close()
