"""Where the app finds the files it ships with: the process, forms, templates, migrations, scenarios and the
vendored front-end files (GOV.UK Frontend, bpmn-js).

In a source checkout they are the folders at the repository's root (``bpmn/``, ``forms/``, ...) and
``node_modules/``. An installed package carries copies inside itself, under ``rapidreview/bundled/``, made by
the build (``setup.py``). ``RAPIDREVIEW_RESOURCES_DIR`` points at another folder laid out like
``bundled/`` (docs/operations.md); ``RAPIDREVIEW_BPMN_DIR``, ``_FORMS_DIR`` and ``_TEMPLATES_DIR`` still
override those three one by one.

This module imports nothing but the standard library: ``setup.py`` reads ``BUNDLED_FOLDERS`` and
``VENDOR_FILES`` from it before the package's dependencies are installed.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent
BUNDLED_DIR = PACKAGE_DIR / "bundled"
RESOURCES_ENV = "RAPIDREVIEW_RESOURCES_DIR"

# Folders copied as they are from the repository's root into bundled/.
BUNDLED_FOLDERS = ("bpmn", "forms", "templates", "migrations", "scenarios")

# The front-end files the web app serves under /vendor/<name>/ (and /assets/ for GOV.UK's fonts and images):
# name -> (folder under node_modules, glob patterns within it). Only what pages load is shipped; source maps
# and development builds stay behind.
VENDOR_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "govuk": ("govuk-frontend/dist/govuk", ("govuk-frontend.min.css", "govuk-frontend.min.js", "assets/**/*")),
    "bpmn-js": ("bpmn-js/dist", ("assets/**/*", "*.production.min.js")),
    # The process editor, bundled from npm packages by editor/build.mjs (make setup) into editor/dist/.
    "editor": ("../editor/dist", ("*.js", "*.css", "assets/*")),
}


class ResourceError(RuntimeError):
    pass


def is_checkout() -> bool:
    """True when the package runs from a source checkout (an editable install), not an installed copy."""
    return not BUNDLED_DIR.is_dir() and (CHECKOUT_DIR / "bpmn").is_dir() and (CHECKOUT_DIR / "setup.cfg").is_file()


def root() -> Path:
    """The folder that holds bpmn/, forms/, templates/, migrations/ and scenarios/."""
    override = os.environ.get(RESOURCES_ENV, "").strip()
    if override:
        folder = Path(override)
        if not (folder / "migrations").is_dir():
            raise ResourceError(f"{RESOURCES_ENV}: {folder} has no migrations/ folder; point it at a folder laid out "
                                "like the package's bundled/ (bpmn/, forms/, templates/, migrations/, vendor/)")
        return folder
    if BUNDLED_DIR.is_dir():
        return BUNDLED_DIR
    return CHECKOUT_DIR


def path(name: str) -> Path:
    """One of the BUNDLED_FOLDERS, e.g. ``path("bpmn")``."""
    if name not in BUNDLED_FOLDERS:
        raise KeyError(name)
    return root() / name


def vendor_dir(name: str) -> Path:
    """The folder a vendored front-end package's files are served from."""
    folder, _patterns = VENDOR_FILES[name]
    base = root()
    if (base / "vendor").is_dir():
        return base / "vendor" / name
    return base / "node_modules" / folder


def node_modules() -> Path | None:
    """The checkout's node_modules (bpmnlint lives there), or None in an installed package."""
    folder = CHECKOUT_DIR / "node_modules"
    return folder if is_checkout() and folder.is_dir() else None


def default_data_dir() -> Path:
    """``var/`` in the checkout for development; in an installed package, ``var/`` in the working directory
    (production sets RAPIDREVIEW_DATA_DIR)."""
    return CHECKOUT_DIR / "var" if is_checkout() else Path.cwd() / "var"


def installed_version() -> str:
    """The installed distribution's version; in a checkout without an install, the package's own."""
    from importlib.metadata import PackageNotFoundError, version

    import rapidreview

    try:
        return version("rapidreview")
    except PackageNotFoundError:
        return rapidreview.__version__
