"""The inspector page in a real headless browser, against a real ``atlas-fn serve`` (issue 12 §4).

Debian's ``chromium``, driven by Playwright through ``executable_path`` (Playwright's own browser
downloads are never used). The test loads the page, sends requests with a plain HTTP client,
waits on the page's DOM (never on the clock) until they appear, opens them (console lines,
response calls, a failed signature's forensics, hostile text shown as text), and re-sends one.
Without the browser the test fails in CI (``CI=true``, where ``.ci/run`` installs it) and is
skipped elsewhere, with the reason. The last test binds a real server to every address and
checks the loopback rule from a non-loopback address of this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, INSPECTOR_LINK, ROOT, webhook_url
from tests.waiting import Lines

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (.ci/run installs it)
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
WAIT_MS = 30_000  # only reached when what is awaited never appears
DOCS_SIGNATURE = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"  # contract §9 #1


def _missing_browser() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"
    return ""


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the inspector's browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def _serve(tmp_path: Path, *flags: str) -> Iterator[str]:
    """A real ``atlas-fn serve`` of the example app on a free port: its base URL."""
    log = (tmp_path / "serve.log").open("w")  # the request log goes here: a pipe nobody reads would fill up
    proc = subprocess.Popen([sys.executable, "-m", "runtime", "serve", "--app", str(EXAMPLE_APP), "--functions",
                             str(EXAMPLE_FUNCTIONS), "--port", "0", "--workers", "1", *flags], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        banner = Lines(proc.stdout).next()  # type: ignore[arg-type]
        match = re.search(r"listening on (http://[0-9.]+:\d+)", banner)
        assert match, banner + (tmp_path / "serve.log").read_text()
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with _serve(tmp_path) as base:
        yield base


def send(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_page_lists_requests_opens_their_traces_and_re_sends(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []  # script errors and CSP violations on the page
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server + "/_atlas-fn/")
    expect(page.locator("#empty")).to_be_visible()
    rows = page.locator("tr.request-row")
    expect(rows).to_have_count(0)

    assert send(server + webhook_url("hello") + "?name=Ada")[0] == 200
    assert send(server + webhook_url("respond"))[0] == 202
    expect(rows).to_have_count(2)  # the page polls: they appear without a reload
    assert send(server + webhook_url("hello<script>window.__pwned=1</script>"))[0] == 404
    assert send(server + webhook_url("hello"), "POST", b"<script>window.__pwned=2</script>",
                {"X-Evil": "<img src=x onerror=\"window.__pwned=3\">"})[0] == 200
    status, answer = send(server + webhook_url("signed"), "POST", b'{"message": "MESSAGE"}',
                          {"X-Hook-Signature": DOCS_SIGNATURE})
    assert status == 401
    link = json.loads(answer)["link"]
    assert INSPECTOR_LINK.fullmatch(link)
    expect(rows).to_have_count(5)
    expect(rows.locator("td.function")).to_have_text(["signed", "hello", "-", "respond", "hello"])  # newest first

    rows.nth(4).click()  # hello: its console line
    expect(page.locator("#d-console li")).to_have_text(["hello from 127.0.0.1"])
    expect(page.locator("#d-route")).to_contain_text("python")
    rows.nth(3).click()  # respond: every response call, in order
    expect(page.locator("#d-calls li")).to_have_count(5)
    expect(page.locator("#d-calls li").first).to_have_text("setStatusCode(202)")
    expect(page.locator("#d-calls li").nth(1)).to_have_text("setHeader('Content-Type', 'text/plain; charset=utf-8')")
    expect(page.locator("#d-calls li").last).to_have_text("setBody('accepted\\n')")
    expect(page.locator("#d-timings th")).to_have_text(["routing, body and validation", "queue wait", "worker", "writing"])

    rows.nth(2).click()  # hostile text is shown as text, and runs nothing
    expect(page.locator("#d-title")).to_contain_text("hello<script>window.__pwned=1</script>")
    rows.nth(1).click()
    expect(page.locator("#d-request pre.body")).to_have_text("<script>window.__pwned=2</script>")
    expect(page.locator("#d-request td", has_text="onerror")).to_have_text("<img src=x onerror=\"window.__pwned=3\">")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#detail script, #detail img, #rows script, #rows img").count() == 0

    page.goto(link)  # the error envelope's link opens that request's trace
    expect(page.locator("#d-co-id")).to_have_text(link.rpartition("co_id=")[2])
    compact = page.locator("#d-forensics tr", has_text="compact JSON (JSON.stringify)")
    expect(compact).to_contain_text("YES")
    expect(page.locator("#d-forensics tr", has_text="raw bytes, as sent")).to_contain_text("no")
    expect(page.locator("#d-validation")).to_contain_text("Expected header X-Hook-Signature")
    expect(page.locator("#d-error")).to_have_text("Errorrequest signature did not match")
    expect(page.locator("#detail")).not_to_contain_text("null")  # no section missing shows as a word
    assert "828ee180" not in page.content()

    rows.nth(3).click()  # respond again, then re-send it from the page
    expect(page.locator("#d-calls li")).to_have_count(5)
    page.locator("#resend").click()
    expect(page.locator("#resend-result")).to_contain_text("re-sent: status 202, new request ")
    expect(rows).to_have_count(6)
    expect(rows.first.locator("td.function")).to_have_text("respond (re-sent)")
    rows.first.click()
    expect(page.locator("#d-calls li")).to_have_count(5)
    assert problems == []


def _outside_address() -> str:
    """An address of this machine that is not loopback, or "" (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return ""
    return "" if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_server_on_every_address_serves_the_inspector_to_loopback_callers_only(tmp_path: Path) -> None:
    outside = _outside_address()
    if not outside:
        pytest.skip("this machine has no address besides loopback to call from")
    with _serve(tmp_path, "--host", "0.0.0.0") as base:
        port = base.rpartition(":")[2]
        status, answer = send(f"http://{outside}:{port}/_atlas-fn/api/requests")
        assert status == 403, answer
        assert json.loads(answer)["error"].startswith(
            f"the inspector (/_atlas-fn/) is served to loopback callers only; this request came from {outside};")
        assert send(f"http://{outside}:{port}" + webhook_url("hello"))[0] == 200  # the functions answer it
        status, answer = send(f"http://127.0.0.1:{port}/_atlas-fn/api/requests")
        assert status == 200 and [row["function"] for row in json.loads(answer)["requests"]] == ["hello"]
