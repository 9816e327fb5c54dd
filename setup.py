"""One build step beyond pyproject.toml: compile the gettext catalogs.

The ``.mo`` files are not kept in git; without this step a wheel or ``pip install .`` would
ship no translations, and kolbot would answer in English without a word. ``compile_catalogs``
runs as part of ``build``: into the build directory for a wheel, into the source tree for an
editable install (as ``make`` does).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import Command, setup
from setuptools.command.build import build

LOCALES = Path("bot", "i18n", "locales")


class CompileCatalogs(Command):
    """Compile every ``bot/i18n/locales/<lang>/LC_MESSAGES/*.po`` into its ``.mo``."""

    description = "compile the gettext catalogs (.po) into .mo files"
    user_options: list[tuple[str, str | None, str]] = []  # noqa: RUF012 - setuptools' API

    def initialize_options(self) -> None:
        self.build_lib: str | None = None
        self.editable_mode = False

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _sources(self) -> list[Path]:
        return sorted(LOCALES.glob("*/LC_MESSAGES/*.po"))

    def _target(self, source: Path) -> Path:
        base = Path() if self.editable_mode or self.build_lib is None else Path(self.build_lib)
        return base / source.with_suffix(".mo")

    def run(self) -> None:
        for source in self._sources():
            target = self._target(source)
            with source.open("rb") as handle:
                catalog = read_po(handle, locale=source.parts[-3], domain=source.stem)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Fuzzy entries are left out, as ``pybabel compile`` does.
            with target.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)

    def get_source_files(self) -> list[str]:
        return [str(source) for source in self._sources()]

    def get_outputs(self) -> list[str]:
        return [str(self._target(source)) for source in self._sources()]

    def get_output_mapping(self) -> dict[str, str]:
        return {str(self._target(source)): str(source) for source in self._sources()}


class Build(build):
    sub_commands = [*build.sub_commands, ("compile_catalogs", None)]  # noqa: RUF012


setup(cmdclass={"build": Build, "compile_catalogs": CompileCatalogs})
