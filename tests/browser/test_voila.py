"""The app as a web page (Voila) at 1280x900: three fresh sessions in a row each compose a non-empty piano
roll; the second and third find the earlier sessions' songs in the Songs list (autosaved, reopened after
the reload); a download event delivers a valid MIDI file; every control stays reachable."""

from __future__ import annotations

import pytest

from .app_steps import APP, LOAD_MS, Steps, assert_reachable, compose, download_midi, roll_bars
from .conftest import open_page

pytestmark = pytest.mark.browser
SESSIONS = 3


def test_voila_composes_in_three_fresh_sessions(voila_url, artifacts, tmp_path):
    from playwright.sync_api import sync_playwright

    step = Steps(artifacts / "voila-steps.log")
    rolls = []
    with sync_playwright() as pw:
        for session in range(SESSIONS):
            context, page = open_page(pw, tmp_path / f"profile-{session}")
            try:
                page.set_default_timeout(LOAD_MS)
                page.goto(voila_url)
                page.wait_for_selector(f"{APP} button.widget-button", timeout=LOAD_MS)
                assert "colab" not in page.content().lower()  # the page shows the app, not instructions
                songs = page.locator(f"{APP} .codeplay-songs select").evaluate_all(
                    "els => els.flatMap(s => Array.from(s.options).map(o => o.textContent))")
                assert sum("pop" in s for s in songs) == session, songs  # earlier sessions' songs reopened
                compose(page, f"a pop song with piano and drums, take {session + 1}")
                bars = roll_bars(page)
                assert bars, "the piano roll stayed empty"
                rolls.append(bars)
                step(f"session {session + 1}: composed, roll drawn")
                assert_reachable(page, f"Voila session {session + 1}")
                if session == 0:
                    download_midi(page, tmp_path)
                    page.screenshot(path=str(artifacts / "voila-compose.png"), full_page=True)
                    step("MIDI downloaded")
            except Exception:
                page.screenshot(path=str(artifacts / f"voila-failure-{session + 1}.png"), full_page=True)
                raise
            finally:
                context.close()
    assert len(rolls) == SESSIONS and all(rolls)
