"""The chat page in a real headless Chromium (Debian's package, driven by Playwright) against a real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from qa.loadtest import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-quic", "--disable-sync"]


@pytest.fixture(scope="module")
def server(seed_index):
    """`qa serve` as its own process on a free loopback port."""
    with running_server(seed_index) as running:
        yield running.process, running.url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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


def test_asking_on_the_page_shows_the_answer_in_its_sentence(server, browser):
    _, url = server
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


def test_a_follow_up_and_an_unanswerable_question(server, browser):
    _, url = server
    page = _open(browser, url)
    _ask(page, "株洲截至4月底签约了多少个项目？")
    assert _reply(page, "answered", 0).locator(".answer").inner_text() == "73个"
    _ask(page, "合同引资总额呢？")
    assert _reply(page, "answered", 1).locator(".answer").inner_text() == "202.4亿元"
    _ask(page, "今天天气怎么样")
    assert "没有找到答案" in _reply(page, "abstained").inner_text()
    page.close()


def test_answers_are_shown_as_text_not_html(server, browser):
    _, url = server
    page = _open(browser, url)
    _ask(page, "<img src=x onerror=alert(1)>徐州缓缴社保多少")
    page.locator(".message.bot:not(.pending)").last.wait_for(timeout=30_000)
    assert page.locator("#messages img").count() == 0
    assert "<img src=x" in page.locator(".message.user").last.inner_text()
    page.close()


def _violations(page) -> list[str]:
    """Collects what the browser refused under the Content-Security-Policy, as it reports it on the console."""
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    return refused


def test_the_page_and_the_api_docs_run_under_the_content_security_policy(server, browser):
    _, url = server
    page = browser.new_page()
    refused, outside = _violations(page), []
    page.on("request", lambda request: None if request.url.startswith(url) else outside.append(request.url))
    page.goto(url)
    _ask(page, "徐州缓缴社保多少")
    assert "31亿元" in _reply(page, "answered").locator(".answer").inner_text()
    page.goto(url + "/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "qa" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator("#operations-default-ask_api_ask_post, .opblock").first.wait_for(timeout=30_000)
    assert refused == [] and outside == []
    page.close()


def test_a_failing_server_shows_an_error(server, browser):
    process, url = server
    page = _open(browser, url)
    process.terminate()
    process.wait(timeout=10)
    _ask(page, "徐州缓缴社保多少")
    assert "出错了" in _reply(page, "error").inner_text()
    page.close()
