"""Unit-test fixtures: compiled gettext catalogues, so the tests pass on a fresh clone."""

from __future__ import annotations

import os

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from chalicelib import i18n


def compile_stale_catalogues() -> list[str]:
    """Compile every deskmail.po whose .mo is missing or older; the locales compiled."""
    compiled = []
    for po_path in sorted(i18n.LOCALE_DIR.glob(f"*/LC_MESSAGES/{i18n.DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Write aside and rename: pytest-xdist workers may compile the same catalogue at once.
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)
        compiled.append(catalog.locale_identifier)
    return compiled


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    # .mo files are build output (gitignored); a translations() cached before compiling would stay English.
    if compile_stale_catalogues():
        i18n.translations.cache_clear()
