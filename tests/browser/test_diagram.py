"""The process diagram: an image with a short name, states shown by words as well as colour, pan and zoom from
the keyboard, and a table of steps that lists the timers waiting to fire."""

from __future__ import annotations

from typing import Any

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import Case
from tests.browser.conftest import axe_violations
from tests.web.test_access import start_case_with_two_agencies


def test_the_diagram_has_a_text_equivalent_a_non_colour_cue_and_keyboard_pan_and_zoom(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id = start_case_with_two_agencies(runtime)
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        reference = case.reference
    page = new_page()
    page.goto(f"{live_server}/sign-in")
    page.fill("#email", "pm@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")
    page.goto(f"{live_server}/cases/{reference}")
    page.wait_for_selector("#diagrams[data-rendered='true']", timeout=15000)

    # The drawing is one image with a short name, and nothing in it takes focus.
    images = page.locator("#diagrams svg[role='img']")
    assert images.count() >= 1
    assert images.first.get_attribute("aria-label").startswith("Process diagram: ")
    focusable = page.evaluate(
        "Array.from(document.querySelectorAll('#diagrams [tabindex]')).filter(e => e.tabIndex >= 0).length"
    )
    assert focusable == 0

    # Each marked step says its state in words, not by colour alone.
    badges = page.locator("#diagrams .app-diagram-badge").all_inner_texts()
    assert "Done" in badges and "Now" in badges and "Timer" in badges

    # The table of steps lists the timers waiting to fire, with when.
    page.click("#steps summary")
    rows = [r.split("\t") for r in page.locator("#steps tbody tr").all_inner_texts()]
    timers = [r for r in rows if r[1] == "Waiting for a date or time"]
    assert timers and all(r[2].strip() for r in timers), rows
    assert any(r[1] == "Waiting for someone" for r in rows) and any(r[1] == "Done" for r in rows)

    # Pan and zoom from the keyboard: the buttons move the drawing.
    viewport = "document.querySelector('#diagrams .viewport').getAttribute('transform')"
    before = page.evaluate(viewport)
    page.locator("#diagrams button", has_text="Move left").first.focus()
    page.keyboard.press("Enter")
    moved = page.evaluate(viewport)
    assert moved != before
    page.locator("#diagrams button", has_text="Zoom in").first.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(viewport) != moved
    assert axe_violations(page) == []
