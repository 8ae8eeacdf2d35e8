"""The chat page in a real headless Chromium (Debian's package, driven by Playwright) against a real server
(the `live_server` and `browser` fixtures of conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qa.settings import get_settings

DEEP_QUESTION = "株洲截至4月底合同引资总额多少"  # its answer is far down a long article


def _ask(page, question: str):
    """Type a question and press Enter, as a user does."""
    page.fill("#question", question)
    page.press("#question", "Enter")


def _open(browser, url: str):
    """A fresh page with the chat loaded."""
    page = browser.new_page()
    page.goto(url)
    return page


def _reply(page, state: str, index: int = -1):
    """The bot reply in the given state (answered, abstained, error), once it has appeared."""
    replies = page.locator(f".message.bot[data-state={state}]")
    reply = replies.last if index < 0 else replies.nth(index)
    reply.wait_for(timeout=30_000)
    return reply


def test_asking_on_the_page_shows_the_answer_in_its_sentence(live_server, browser):
    url = live_server
    page = browser.new_page()
    outside = []
    page.on("request", lambda request: None if request.url.startswith(url) else outside.append(request.url))
    page.goto(url)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    reply = _reply(page, "answered")
    assert reply.locator(".answer").inner_text() == "73个"
    assert reply.locator(".sentence strong").inner_text() == "73个"
    assert "全市已签约项目" in reply.locator(".sentence").inner_text()
    assert "第25段" in reply.locator(".source").inner_text() and "两会专访" in reply.locator(".source").inner_text()
    assert outside == [], "the page fetched something from outside the server"
    page.close()


def test_a_follow_up_and_an_unanswerable_question(live_server, browser):
    page = _open(browser, live_server)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    assert _reply(page, "answered", 0).locator(".answer").inner_text() == "73个"
    _ask(page, "合同引资总额呢？")
    assert _reply(page, "answered", 1).locator(".answer").inner_text() == "202.4亿元"
    _ask(page, "今天天气怎么样")
    assert "没有找到答案" in _reply(page, "abstained").inner_text()
    page.close()


def test_answers_are_shown_as_text_not_html(live_server, browser):
    page = _open(browser, live_server)
    _ask(page, "<img src=x onerror=alert(1)>徐州缓缴社保多少")
    page.locator(".message.bot:not(.pending)").last.wait_for(timeout=30_000)
    assert page.locator("#messages img").count() == 0
    assert "<img src=x" in page.locator(".message.user").last.inner_text()
    page.close()


def _focused(page, selector: str) -> bool:
    return page.evaluate("selector => document.activeElement.matches(selector)", selector)


def _tab_to(page, selector: str, key: str = "Tab", limit: int = 20) -> None:
    """Press Tab (or Shift+Tab) until the element matching selector has the focus, as a keyboard user does."""
    for _ in range(limit):
        if _focused(page, selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{selector} not reached with {key}")


def _in_view(locator, container) -> bool:
    """Whether locator's box lies inside container's visible box."""
    box, frame = locator.bounding_box(), container.bounding_box()
    return frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]


def test_an_answer_expands_to_its_ranked_passages_and_the_resolved_question(live_server, browser):
    page = _open(browser, live_server)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    reply = _reply(page, "answered")
    passages = reply.locator(".passage")
    assert not passages.first.is_visible(), "the passages start folded"
    reply.locator(".passages summary").click()
    read = get_settings().top_k  # the passages the answer was looked for in
    assert passages.count() == read and passages.first.is_visible()
    metas = [passages.nth(i).locator(".passage-meta").inner_text() for i in range(read)]
    assert [m.split(" · ")[0] for m in metas] == [f"第{rank}名" for rank in range(1, read + 1)]
    scores = [float(m.split(" · ")[1].removeprefix("得分 ")) for m in metas]
    assert scores == sorted(scores, reverse=True) and all("BM25" in m and "向量" in m for m in metas)
    chosen = reply.locator(".passage.chosen")
    assert chosen.count() == 1 and "全市已签约项目73个" in chosen.inner_text() and "答案出处" in chosen.inner_text()
    assert reply.locator(".resolved-question").inner_text() == "检索用的问题：株洲截至4月底签约了多少个项目？"

    _ask(page, "株洲截至4月底签约了多少个项目？")
    _reply(page, "answered", 1)
    _ask(page, "合同引资总额呢？")
    follow_up = _reply(page, "answered", 2)
    follow_up.locator(".passages summary").click()
    resolved = follow_up.locator(".resolved-question").inner_text()
    assert "株洲" in resolved and "合同引资总额" in resolved, "the follow-up is shown as it was resolved"
    page.close()


def _violations(page) -> list[str]:
    """Collects what the browser refused under the Content-Security-Policy, as it reports it on the console."""
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    return refused


def test_the_page_and_the_api_docs_run_under_the_content_security_policy(live_server, browser):
    url = live_server
    page = browser.new_page()
    refused, outside = _violations(page), []
    page.on("request", lambda request: None if request.url.startswith(url) else outside.append(request.url))
    page.goto(url)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    assert _reply(page, "answered").locator(".answer").inner_text() == "73个"
    page.goto(url + "/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "qa" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator("#operations-default-ask_api_ask_post, .opblock").first.wait_for(timeout=30_000)
    assert refused == [] and outside == []
    page.close()


def test_the_copy_button_copies_the_answer_with_its_citation(live_server, browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(live_server)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    reply = _reply(page, "answered")
    reply.locator("button.copy").click()
    # The label changes once the clipboard's promise resolves: waited for, not read at once.
    reply.locator("button.copy", has_text="已复制").wait_for(timeout=2000)
    copied = page.evaluate("navigator.clipboard.readText()")
    answer, evidence, source = copied.split("\n")
    assert answer == "答案：73个"
    assert evidence.startswith("依据：") and "全市已签约项目73个" in evidence
    assert source.startswith("来源：两会专访") and "第25段" in source
    context.close()


def test_the_source_opens_the_article_with_the_sentence_highlighted_and_in_view(live_server, browser):
    page = _open(browser, live_server)
    _ask(page, DEEP_QUESTION)
    reply = _reply(page, "answered")
    sentence = reply.locator(".sentence").inner_text().removeprefix("依据：")
    link = reply.locator(".source a")
    link.click()
    dialog = page.locator("#article-view[data-state=loaded]")
    dialog.wait_for(timeout=10_000)
    assert page.locator("#article-title").inner_text().startswith("两会专访")
    assert "阳卫国" in page.locator("#article-meta").inner_text() and "第25段" in page.locator("#article-meta").inner_text()
    mark = dialog.locator("mark")
    assert mark.inner_text() == sentence and mark.locator("strong").inner_text() == "202.4亿元"
    text = dialog.locator(".article-text")
    assert text.evaluate("element => element.scrollTop") > 0, "the article was scrolled to the sentence"
    assert _in_view(mark, text)
    page.keyboard.press("Escape")
    assert not page.locator("#article-view").is_visible()
    assert _focused(page, ".source a"), "focus returns to the link"
    page.close()


def test_the_page_works_with_the_keyboard_alone(live_server, browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(live_server)
    assert _focused(page, "#question"), "the question box has the focus from the start"
    page.keyboard.type(DEEP_QUESTION)
    page.keyboard.press("Enter")
    reply = _reply(page, "answered")
    page.wait_for_function("document.activeElement.id === 'question'")

    _tab_to(page, ".passages summary", "Shift+Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", "focus is visible"
    page.keyboard.press("Enter")
    assert reply.locator(".passage").first.is_visible()
    _tab_to(page, "button.copy", "Shift+Tab")
    page.keyboard.press("Enter")
    # The label changes once the clipboard's promise resolves: waited for, not read at once.
    reply.locator("button.copy", has_text="已复制").wait_for(timeout=2000)
    assert page.evaluate("navigator.clipboard.readText()").startswith("答案：202.4亿元")
    _tab_to(page, ".source a", "Shift+Tab")
    page.keyboard.press("Enter")
    page.locator("#article-view[data-state=loaded]").wait_for(timeout=10_000)
    assert page.evaluate("document.activeElement.closest('#article-view') !== null"), "focus moves into the article"
    page.keyboard.press("Escape")
    assert _focused(page, ".source a")
    _tab_to(page, "#question")
    page.keyboard.type("合同引资总额呢？")
    page.keyboard.press("Enter")
    assert _reply(page, "answered", 1).locator(".answer").inner_text() == "202.4亿元"
    _tab_to(page, "#new-chat")
    page.keyboard.press("Enter")
    assert page.locator(".message").count() == 0
    context.close()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where the screenshots go; with a Chinese font installed, or they would show empty boxes."""
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], check=False, capture_output=True, text=True).stdout
    assert fonts.strip(), "no Chinese font (./run test installs fonts-wqy-microhei)"
    return tmp_path_factory.mktemp("screenshots")


def _fits_width(page, selector: str) -> bool:
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)].every(element => {
               const box = element.getBoundingClientRect();
               return box.width > 0 && box.left >= 0 && box.right <= window.innerWidth; })""",
        selector,
    )


@pytest.mark.parametrize("width,height", [(390, 844), (1200, 800)])
def test_the_layout_at_phone_and_desktop_widths(live_server, browser, screenshot_dir, width, height):
    """Screenshots at both widths (kept in the test's tmp folder, printed with -s): nothing runs off the
    side, the question box stays on screen, the answer and its controls are inside the window."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(live_server)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    _reply(page, "answered", 0)
    _ask(page, "合同引资总额呢？")
    reply = _reply(page, "answered", 1)
    reply.locator(".passages summary").click()
    reply.locator(".passage.chosen").scroll_into_view_if_needed()
    chat_png = screenshot_dir / f"chat-{width}.png"
    page.screenshot(path=str(chat_png))
    print(f"screenshot: {chat_png}")

    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    for selector in ("#question", "#send", "#new-chat", ".message", ".answer", ".source a", "button.copy", ".passages[open] .passage"):
        assert _fits_width(page, selector), f"{selector} runs off the side at {width} px"
    for selector in ("#question", "#send"):
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} is off screen at {width} px"
    question = page.locator("#question").bounding_box()
    if width < 600:
        assert question["width"] >= 0.8 * width, "on a phone the question box has a row of its own"
    else:
        assert question["width"] >= 500

    reply.locator(".source a").click()
    page.locator("#article-view[data-state=loaded]").wait_for(timeout=10_000)
    article_png = screenshot_dir / f"article-{width}.png"
    page.screenshot(path=str(article_png))
    print(f"screenshot: {article_png}")
    assert _fits_width(page, "#article-view") and _fits_width(page, "#article-close")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert _in_view(page.locator("#article-view mark"), page.locator("#article-view .article-text"))
    assert chat_png.stat().st_size > 10_000 and article_png.stat().st_size > 10_000
    page.close()


def test_a_failing_server_shows_an_error(start_server, browser):
    with start_server() as (process, url):  # a server of its own, as this test stops it
        page = _open(browser, url)
        process.terminate()
        process.wait(timeout=10)
        _ask(page, "徐州缓缴社保多少")
        assert "出错了" in _reply(page, "error").inner_text()
        page.close()
