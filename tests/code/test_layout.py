"""The package layout: one copy of each module, and default paths that work outside an editable install."""
import subprocess
import sys
from pathlib import Path

import pytest

from redflags.config import project_home

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("folder", ["model", "training", "service", "batch"])
def test_a_top_level_folder_cannot_be_imported_as_a_second_copy(folder):
    """`import model` from the checkout would make a second Predictor class that isinstance checks reject."""
    run = subprocess.run([sys.executable, "-c", f"import {folder}"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode != 0 and f"import redflags.{folder}, not {folder}" in run.stderr


def test_project_home_prefers_the_environment(tmp_path):
    assert project_home({"REDFLAGS_HOME": str(tmp_path)}) == tmp_path.resolve()


def test_project_home_is_the_checkout_of_an_editable_install():
    assert project_home({}) == ROOT


def test_project_home_of_an_installed_wheel_is_the_current_folder(tmp_path):
    site = tmp_path / "site-packages" / "redflags"
    site.mkdir(parents=True)
    work = tmp_path / "survey"
    work.mkdir()
    assert project_home({}, package_dir=site, cwd=work) == work.resolve()


def test_the_readme_layout_names_every_module_and_no_missing_one():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.find("\n## ", 5)] if "\n## " in layout[5:] else layout
    named = set(re.findall(r"`((?:model|training|service|batch|redflags)/[\w.]+\.py)`", layout))
    named |= {f"{folder}/{name}" for folder, names in re.findall(r"\| `(\w+)/` \| ([^|]+)\|", layout)
              for name in re.findall(r"`([\w]+\.py)`", names)}
    for row in re.findall(r"\| (`model/[^|]+) \|", layout):   # rows naming several model files
        named |= set(re.findall(r"`(model/[\w.]+\.py)`", row))
    on_disk = {str(p.relative_to(ROOT)) for folder in ("model", "training", "service", "batch", "redflags")
               for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
    assert on_disk - named == set(), "modules missing from the README layout"
    assert named - on_disk == set(), "the README layout names modules that do not exist"
