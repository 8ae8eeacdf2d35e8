"""The chat page in a real headless Chromium (Debian's package, driven by Playwright) against a real server
(the `live_server` and `browser` fixtures of conftest.py)."""

from __future__ import annotations


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
    _ask(page, "徐州缓缴社保多少")
    reply = _reply(page, "answered")
    assert "31亿元" in reply.locator(".answer").inner_text()
    assert reply.locator(".sentence strong").inner_text() == "超31亿元"
    assert "缓缴和减免社保" in reply.locator(".sentence").inner_text()
    assert "第" in reply.locator(".source").inner_text() and "周铁根" in reply.locator(".source").inner_text()
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


def test_a_failing_server_shows_an_error(start_server, browser):
    with start_server() as (process, url):  # a server of its own, as this test stops it
        page = _open(browser, url)
        process.terminate()
        process.wait(timeout=10)
        _ask(page, "徐州缓缴社保多少")
        assert "出错了" in _reply(page, "error").inner_text()
        page.close()
