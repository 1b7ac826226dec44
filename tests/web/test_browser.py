"""The web worksheets end to end in headless Chromium (Playwright for
Python, driving Debian's /usr/bin/chromium; `playwright install` is never
run): sign in, open a worksheet, follow a bundle link, create a run from
the page and watch it go from running to ready without a reload, expand
its row, follow a running bundle's stdout, edit the markup, be refused a
private worksheet.  Each page is saved as a screenshot under
$CL_TEST_ARTIFACTS/web (or the pytest temporary directory)."""

import os

import pytest

from tests.services import require_service
from tests.web.conftest import artifacts_dir

WAIT = 120_000  # ms: the longest any one step may take on a loaded machine


@pytest.fixture(scope="module")
def browser(chromium):  # tests/services.py: skips (or fails under CI=true) without a chromium binary
    path = chromium.path
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("chromium", "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return artifacts_dir(tmp_path_factory)


@pytest.fixture
def page(browser, lab, shots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT)
    yield pg
    context.close()


def snap(pg, shots, name):
    path = os.path.join(shots, f"{name}.png")
    pg.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 0


def sign_in(pg, lab, user):
    pg.goto(lab.url + "/signin")
    pg.fill("#password-form input[name=user]", user)
    pg.fill("#password-form input[name=password]", f"{user}-password")
    pg.click("#password-form button[type=submit]")
    pg.wait_for_selector(f"text=signed in as {user}")


def test_sign_in_open_a_worksheet_and_follow_a_bundle_link(page, lab, shots):
    page.goto(lab.url + "/signin")
    snap(page, shots, "01-sign-in")
    sign_in(page, lab, "alice")
    assert page.url.rstrip("/") == lab.url
    snap(page, shots, "02-worksheet-list")
    page.click("a.ws:text('alice-lab')")
    page.wait_for_selector("main.worksheet")
    assert "Alice experiments" in page.inner_text("main.worksheet")
    snap(page, shots, "03-worksheet")
    page.click(f"main.worksheet a.ref[href*='0x{lab.data}']")
    page.wait_for_selector("main.bundle-page")
    assert f"/bundles/0x{lab.data}" in page.url
    assert "alpha" in page.inner_text("pre.preview")
    assert page.inner_text("#bundle-state") == "ready"
    assert page.query_selector("svg.provenance")
    snap(page, shots, "04-bundle")


def test_a_run_made_on_the_page_goes_from_running_to_ready_without_a_reload(page, lab, shots):
    sign_in(page, lab, "alice")
    page.goto(lab.url + "/worksheets/alice-lab")
    page.click("#run-form >> xpath=..//summary")
    page.fill("#run-form input[name=command]", "cat d; echo started-run; sleep 8; echo run-done")
    page.fill("#run-form input[name=dependencies]", "d:data.txt")
    page.fill("#run-form input[name=name]", "watched")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("main.worksheet tr[data-bundle]:has-text('watched')")
    page.evaluate("window.__notReloaded = true")
    row = "main.worksheet tr[data-bundle]:has-text('watched')"
    page.wait_for_selector(f"{row}[data-state=running]")
    snap(page, shots, "05-worksheet-run-running")
    page.wait_for_selector(f"{row}[data-state=ready]")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    snap(page, shots, "06-worksheet-run-ready")
    # the row expands to show metadata, stdout and contents
    page.click(f"{row} td:last-child")
    page.wait_for_selector("tr.detail .row-detail")
    detail = page.inner_text("tr.detail")
    assert "run-done" in detail and "stdout" in detail and "peak memory" in detail
    snap(page, shots, "07-worksheet-row-expanded")


def test_a_running_bundle_page_shows_its_stdout_as_it_grows(page, lab, shots):
    sign_in(page, lab, "alice")
    page.goto(lab.url + "/worksheets/alice-lab")
    page.click("#run-form >> xpath=..//summary")
    page.fill("#run-form input[name=command]", "echo first-line; sleep 6; echo second-line; sleep 2")
    page.fill("#run-form input[name=name]", "talker")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("main.worksheet tr[data-bundle]:has-text('talker')[data-state=running]")
    page.click("main.worksheet tr[data-bundle]:has-text('talker') a.ref")
    page.wait_for_selector("main.bundle-page")
    page.wait_for_selector("pre.output[data-stream=stdout]:has-text('first-line')")
    snap(page, shots, "08-bundle-running")
    page.wait_for_selector("pre.output[data-stream=stdout]:has-text('second-line')")
    page.wait_for_selector("#bundle-state:text('ready')")
    snap(page, shots, "09-bundle-ready")


def test_a_failed_run_is_highlighted_with_its_failure(page, lab, shots):
    sign_in(page, lab, "alice")
    page.goto(lab.url + "/worksheets/alice-lab")
    page.click("#run-form >> xpath=..//summary")
    page.fill("#run-form input[name=command]", "echo oops >&2; exit 3")
    page.fill("#run-form input[name=name]", "broken")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("main.worksheet tr.failed:has-text('broken')")
    assert "exit code 3" in page.inner_text("main.worksheet tr.failure:has-text('broken')")
    snap(page, shots, "10-worksheet-failed-run")


def test_edit_the_markup_in_the_browser(page, lab, shots):
    sign_in(page, lab, "alice")
    page.goto(lab.url + "/worksheets/alice-lab")
    page.click("#edit-link")
    page.wait_for_selector("#edit-form textarea")
    text = page.input_value("#edit-form textarea")
    assert "Alice experiments" in text
    page.fill("#edit-form textarea", text.replace("# Alice experiments", "# Alice experiments, edited in the browser"))
    snap(page, shots, "11-edit")
    page.click("#edit-form button[type=submit]")
    page.wait_for_selector("main.worksheet h1:has-text('edited in the browser')")
    assert "edited in the browser" in lab.on_server(["print", "alice-lab"]).stdout
    snap(page, shots, "12-worksheet-edited")


def test_a_private_worksheet_is_refused(page, lab, shots):
    sign_in(page, lab, "bob")
    response = page.goto(lab.url + "/worksheets/alice-lab")
    assert response.status == 403
    assert "Not allowed" in page.inner_text("h1")
    assert "Alice experiments" not in page.content()
    snap(page, shots, "13-refused")
