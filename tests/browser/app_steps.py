"""What a person does with the composing app in a browser, shared by the JupyterLab and Voila tests."""

from __future__ import annotations

import os
import time

SLOWDOWN = float(os.environ.get("CODEPLAY_BROWSER_SLOWDOWN", "1"))  # scales every timeout on a busy machine
LOAD_MS = int(120_000 * SLOWDOWN)
COMPOSE_MS = int(240_000 * SLOWDOWN)
UI_MS = int(30_000 * SLOWDOWN)
APP = ".codeplay-app"
BARS_JS = (f"() => Array.from(document.querySelectorAll('{APP} .js-plotly-plot .barlayer path'))"
           ".map(p => p.getAttribute('d')).join('|')")

# every visible control of the app, scrolled to the middle of the window: is it the element at its own
# centre point? (anything else there - a list grown over it, a neighbour's label - means a mouse cannot reach it)
UNREACHABLE_JS = f"""() => {{
  const app = document.querySelector('{APP}');
  const sel = 'button, input, select, textarea, .noUi-handle, a.codeplay-download';
  const out = [];
  let checked = 0;
  for (const el of app.querySelectorAll(sel)) {{
    if (el.type === 'file' || el.closest('.lm-mod-hidden, .p-mod-hidden')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    el.scrollIntoView({{block: 'center', inline: 'center'}});
    r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    checked += 1;
    if (!(hit && (hit === el || el.contains(hit) || (el.tagName === 'INPUT' && el.type === 'checkbox' && hit.closest('label') && hit.closest('label').contains(el))))) {{
      const name = (el.innerText || el.value || el.getAttribute('placeholder') || el.className || el.tagName).toString().slice(0, 40);
      const over = hit ? (hit.className || hit.tagName).toString().slice(0, 60) : 'nothing';
      out.push(`${{el.tagName}} "${{name}}" at ${{Math.round(x)}},${{Math.round(y)}} is under ${{over}}`);
    }}
  }}
  return {{checked, out}};
}}"""


def message(page) -> str:
    return page.locator(f"{APP} .codeplay-message").inner_text()


def button(page, text: str):
    # by text: the Font Awesome icon's glyph is part of the button's accessible name
    return page.locator(f"{APP} button.widget-button", has_text=text).first


def roll_bars(page) -> str:
    return page.evaluate(BARS_JS)


def wait_message(page, text: str, timeout: int = COMPOSE_MS) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "(t) => (document.querySelector('.codeplay-app .codeplay-message') || {}).textContent?.includes(t)",
            arg=text, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"waited for {text!r}; the app says {message(page)!r}") from None


def wait_idle(page, timeout: int = COMPOSE_MS) -> None:
    """No operation running: the Compose button is enabled again."""
    page.wait_for_function("() => { const b = Array.from(document.querySelectorAll('.codeplay-app button'))"
                           ".find(b => (b.textContent || '').includes('Compose')); return b && !b.disabled; }",
                           timeout=timeout)


def assert_reachable(page, when: str) -> int:
    result = page.evaluate(UNREACHABLE_JS)
    assert result["checked"] > 15, f"{when}: only {result['checked']} controls found"
    assert not result["out"], f"{when}: controls covered: " + "; ".join(result["out"])
    return result["checked"]


def compose(page, prompt: str) -> None:
    page.locator(f"{APP} textarea").first.fill(prompt)
    button(page, "Compose").click()
    wait_message(page, "Composed")
    page.wait_for_function(f"() => document.querySelectorAll('{APP} .js-plotly-plot .barlayer path').length > 0",
                           timeout=COMPOSE_MS)
    wait_idle(page)


def download_midi(page, tmp_dir) -> bytes:
    """Click the MIDI download link; the browser's download event must deliver a MIDI file named after
    the prompt."""
    from codeplay_nb.io import read_midi

    link = page.locator(f"{APP} a.codeplay-download", has_text="MIDI").first
    link.scroll_into_view_if_needed()
    with page.expect_download(timeout=UI_MS) as info:
        link.click()
    download = info.value
    name = download.suggested_filename
    assert name.endswith(".mid") and name != "codeplay.mid", name
    path = tmp_dir / name
    download.save_as(str(path))
    data = path.read_bytes()
    assert data[:4] == b"MThd"
    assert read_midi(path).n_notes > 0
    return data


class Steps:
    """Writes how long each step took to a log in the artifacts folder."""

    def __init__(self, path):
        self.path, self.t0 = path, time.monotonic()
        path.write_text("")

    def __call__(self, what: str) -> None:
        with self.path.open("a") as f:
            f.write(f"{time.monotonic() - self.t0:7.1f} s  {what}\n")
