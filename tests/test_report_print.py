"""The demo report printed to PDF by a real browser (headless Chromium): letter paper, nothing cut off.

Runs ``chromium --headless ... --print-to-pdf`` (the command documented in docs/reports.md) on the
demo report, then reads the PDF with pypdf: every page must be US letter (612 x 792 pt), every
section heading, every member and every verdict's explanation must be in the text, and no text may
start outside the page's printable area. Skipped when Chromium is not installed, except under CI
(the ``CI`` environment variable set), where a missing browser is a failure.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from peertrain.cli import main

LETTER = (612.0, 792.0)
#: The report's @page margins are 0.5 in at the sides: text must start inside them (with 2 pt slack).
SIDE_MARGIN_PT = 36 - 2
#: The smallest font size in the report's style sheet.
MIN_TEXT_PT = 7.5
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    message = f"no headless Chromium on PATH (looked for {', '.join(BROWSERS)}); see docs/reports.md"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def print_to_pdf(html: Path, pdf: Path) -> None:
    """The documented print command."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                _browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri(),
            ],
            check=True, capture_output=True, timeout=180,
        )


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    _browser()
    import json

    from pypdf import PdfReader

    folder = tmp_path_factory.mktemp("print")
    html, pdf, data = folder / "report.html", folder / "report.pdf", folder / "report.json"
    assert main(["report", "--demo", "-o", str(html)]) == 0
    assert main(["report", "--demo", "-o", str(data)]) == 0
    print_to_pdf(html, pdf)
    return PdfReader(pdf), json.loads(data.read_text(encoding="utf-8"))


def test_every_page_is_letter(printed: tuple[Any, dict[str, Any]]) -> None:
    reader, _data = printed
    assert 2 <= len(reader.pages) <= 15
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == LETTER


def _squeeze(text: str) -> str:
    """Text without white space, ligatures (the PDF's "ﬁ") spelt out: line wrapping does not matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_every_section_member_and_verdict_is_printed(printed: tuple[Any, dict[str, Any]]) -> None:
    reader, data = printed
    text = _squeeze("".join(page.extract_text() for page in reader.pages))
    for heading in ("The team at a glance", "Upcoming lapses", "Training hours", "Members",
                    "Rule packs and citations", "Data sources", "What this report leaves out"):
        assert _squeeze(heading) in text, heading
    for member in data["members"]:
        assert _squeeze(f"{member['id']} {member['name']}") in text, member["id"]
        for requirement in member["requirements"]:
            # The explanation is the last column: if a row were cut off at the right, it would be missing.
            assert _squeeze(requirement["explanation"])[:40] in text, (member["id"], requirement["requirement"])
    for note in data["left_out"]:
        assert _squeeze(note)[:40] in text


def layout_problems(reader: Any) -> list[str]:
    """Text starting outside the side margins or off the page, or printed smaller than the style
    sheet's smallest size. (When something is wider than the page, Chromium shrinks the whole page to
    fit rather than cutting it off, so a smaller size than 7.5 pt means something overflowed.)"""
    problems: list[str] = []
    sizes: set[float] = set()
    for number, page in enumerate(reader.pages, 1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)

        def visit(text: str, cm: Any, tm: Any, _font: Any, size: Any, number: int = number,
                  width: float = width, height: float = height) -> None:
            if not text.strip():
                return
            sizes.add(size * math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]))
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if not (SIDE_MARGIN_PT <= x <= width - SIDE_MARGIN_PT and 0 <= y <= height):
                problems.append(f"page {number}: {text.strip()[:30]!r} at ({x:.0f}, {y:.0f})")

        page.extract_text(visitor_text=visit)
    if sizes and min(sizes) < MIN_TEXT_PT - 0.1:
        problems.append(f"text printed at {min(sizes):.2f} pt, below {MIN_TEXT_PT} pt: the page was shrunk to fit")
    return problems


def test_no_text_lies_outside_the_printable_area(printed: tuple[Any, dict[str, Any]]) -> None:
    reader, _data = printed
    assert layout_problems(reader) == []


def test_the_layout_check_notices_a_page_too_wide(tmp_path: Path) -> None:
    """The same report with its body forced 10 in wide: Chromium shrinks it, and the check says so."""
    from pypdf import PdfReader

    html, pdf = tmp_path / "wide.html", tmp_path / "wide.pdf"
    assert main(["report", "--demo", "-o", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    html.write_text(text.replace("</style>", "body { width: 10in; max-width: none; }</style>"), encoding="utf-8")
    print_to_pdf(html, pdf)
    assert any("shrunk to fit" in problem for problem in layout_problems(PdfReader(pdf)))


def test_a_missing_browser_skips_locally_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no headless Chromium"):
        _browser()
