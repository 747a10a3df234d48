"""Fill a rendered schema form the way a person would: type, tick, choose, add rows."""

from __future__ import annotations

from typing import Any

Path = tuple[str | int, ...]


def _name(path: Path) -> str:
    return "/".join(str(p) for p in path)


def fill(page: Any, answers: dict[str, Any], path: Path = ()) -> None:
    for key, value in answers.items():
        fill_value(page, (*path, key), value)


def fill_value(page: Any, path: Path, value: Any) -> None:
    name = _name(path)
    if isinstance(value, dict):
        fill(page, value, path)
    elif isinstance(value, list):
        _fill_list(page, path, value)
    elif isinstance(value, bool):
        page.check(f'input[name="{name}"][value="{"true" if value else "false"}"]')
    else:
        _fill_scalar(page, name, str(value))


def _fill_scalar(page: Any, name: str, text: str) -> None:
    if page.locator(f'[name="{name}-day"]').count():
        year, month, day = text.split("-")
        page.fill(f'[name="{name}-day"]', day)
        page.fill(f'[name="{name}-month"]', month)
        page.fill(f'[name="{name}-year"]', year)
        return
    target = page.locator(f'[name="{name}"]')
    kind = target.first.get_attribute("type")
    tag = target.first.evaluate("e => e.tagName.toLowerCase()")
    if kind == "radio":
        page.check(f'input[name="{name}"][value="{text}"]')
    elif tag == "select":
        target.select_option(text)
    else:
        target.fill(text)


def _fill_list(page: Any, path: Path, values: list[Any]) -> None:
    name = _name(path)
    boxes = page.locator(f'input[type="checkbox"][name="{name}"]')
    if boxes.count():
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if (box.get_attribute("value") in values) != box.is_checked():
                box.click()
        return
    _ensure_rows(page, path, len(values))
    for index, value in enumerate(values):
        fill_value(page, (*path, index), value)


def _rows(page: Any, path: Path) -> int:
    prefix = _name(path) + "/"
    names = page.eval_on_selector_all("input, textarea, select", "els => els.map(e => e.name)")
    indexes = {n[len(prefix):].split("/")[0].split("-")[0] for n in names if n.startswith(prefix)}
    return len([i for i in indexes if i.isdigit()])


def _ensure_rows(page: Any, path: Path, wanted: int) -> None:
    name = _name(path)
    # Each button submits the form; wait for the new page before counting rows again.
    while _rows(page, path) < wanted:
        with page.expect_navigation():
            page.click(f'button[name="form-action"][value="add:{name}"]')
    while _rows(page, path) > wanted:
        with page.expect_navigation():
            page.click(f'button[name="form-action"][value="remove:{name}:{_rows(page, path) - 1}"]')
