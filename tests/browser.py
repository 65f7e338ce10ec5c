"""Helpers for the real-browser tests (Playwright driving Debian's Chromium)."""


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def watch_for_breakage(page) -> list[str]:
    """Collect failed requests and script errors, so a page that half-loads fails the test."""
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and problems.append(f"HTTP {response.status} {response.url}")
        ),
    )
    return problems


def log_in(page, username: str, password: str, next_url: str) -> None:
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")
