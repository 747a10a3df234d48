"""Build step: copy the process, forms, templates, migrations, scenarios and the vendored front-end files into
the package (``rapidreview/bundled/``), so an installed wheel runs without a checkout beside it.

What is copied is declared once, in ``rapidreview/resources.py``, which the app also uses to find the files.
An editable install (``pip install -e .``) copies nothing: the app reads the checkout's folders directly.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _resources():  # type: ignore[no-untyped-def]
    # Loaded by path: importing the package would need its dependencies, which are not installed at build time.
    spec = importlib.util.spec_from_file_location("_rapidreview_resources", ROOT / "rapidreview" / "resources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class build_with_resources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        resources = _resources()
        target = Path(self.build_lib) / "rapidreview" / "bundled"
        if target.exists():
            shutil.rmtree(target)
        for name in resources.BUNDLED_FOLDERS:
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name, (folder, patterns) in resources.VENDOR_FILES.items():
            source = ROOT / "node_modules" / folder
            if not source.is_dir():
                raise SystemExit(f"{source} is missing: run `npm ci` before building (the web app serves its files)")
            for pattern in patterns:
                for file in source.glob(pattern):
                    if file.is_file():
                        destination = target / "vendor" / name / file.relative_to(source)
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(file, destination)


setup(cmdclass={"build_py": build_with_resources})
