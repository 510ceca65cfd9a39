"""One build step pyproject.toml cannot express: put the project template into the wheel.

Everything else about the package is in pyproject.toml. ``mlops-course new`` and ``update`` need
the copier template, which lives in ``template/`` at the repository root, outside ``src/``, on
purpose: its ``.py`` files have jinja names (``{% if include_retraining %}dags{% endif %}/...``)
and are files of a learner's future project, not modules of this package, so ruff, mypy and the
package-structure tests must not read them. This step copies the folder into the built package
as ``mlops_course/project_template/``, so an installed wheel finds it with no checkout
(``mlops_course.template.find_template``). MANIFEST.in puts ``template/`` in the sdist, so a
wheel built from the sdist gets it too. An editable install copies nothing: the package then
reads ``template/`` of the checkout itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE = Path(__file__).resolve().parent / "template"
# Caches are not part of the template (sync_template_repo in template.py skips the same).
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache", ".pytest_cache")


class BuildPyWithTemplate(build_py):
    """build_py, then template/ copied into the build as package data of mlops_course."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (TEMPLATE / "copier.yml").is_file():
            # A wheel without the template would only fail later, on a learner's machine.
            raise FileNotFoundError(f"{TEMPLATE} (the project template) is missing: cannot build")
        target = Path(self.build_lib) / "mlops_course" / "project_template"
        shutil.rmtree(target, ignore_errors=True)  # a file deleted from template/ must go too
        shutil.copytree(TEMPLATE, target, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithTemplate})
