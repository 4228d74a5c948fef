"""GOV.UK Frontend styling (issue 18): vendored at build time into .cache/govuk (make report-tools), its fonts
and images dropped so the page makes no request, its classes put on the report's content; without the
package the report keeps its own stylesheet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rap.report import govuk

REPO = Path(__file__).resolve().parents[1]


def _package(root: Path, version: str = govuk.VERSION) -> Path:
    pkg = root / ".cache" / "govuk" / "node_modules" / "govuk-frontend"
    (pkg / "dist" / "govuk").mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"version": version}))
    css = (
        '@font-face{font-family:"GDS Transport";src:url(/assets/fonts/light.woff2) format("woff2")}'
        ".govuk-header__logo{background-image:url(/assets/images/govuk-crest.svg)}"
        '.govuk-body{font-family:"GDS Transport",arial,sans-serif}'
    )
    (pkg / "dist" / "govuk" / "govuk-frontend.min.css").write_text(css)
    return root


def test_the_vendored_css_keeps_no_remote_font_or_image(tmp_path):
    css = govuk.frontend_css(_package(tmp_path))
    assert govuk.styled(css) and ".govuk-body{" in css
    assert "@font-face" not in css and "/assets/" not in css and "url(" not in css


def test_another_version_or_no_package_is_not_used(tmp_path):
    assert govuk._css_in(tmp_path / ".cache" / "govuk" / "node_modules" / "govuk-frontend") is None
    old = _package(tmp_path / "old", "5.0.0") / ".cache" / "govuk" / "node_modules" / "govuk-frontend"
    assert govuk._css_in(old) is None
    assert not govuk.styled("body{}")


def test_content_gets_govuk_classes_numbers_right_aligned():
    page = (
        '<html lang="en"><body><a class="skip-link" href="#m">Skip</a><nav><a href="#x">x</a></nav>'
        '<main id="m"><h1 id="a">T</h1><p>Text <a href="#t">link</a></p><ul><li>b</li></ul>'
        '<table><caption>C</caption><thead><tr><th scope="col" style="text-align: left;">G</th>'
        '<th scope="col" style="text-align: right;">N</th></tr></thead><tbody><tr class="odd">'
        '<td style="text-align: left;">W</td><td style="text-align: right;">10</td></tr></tbody></table></main>'
        "</body></html>"
    )
    out = govuk.with_govuk_classes(page)
    assert '<h1 id="a" class="govuk-heading-xl">' in out and '<p class="govuk-body">' in out
    assert '<ul class="govuk-list govuk-list--bullet">' in out and '<a href="#t" class="govuk-link">' in out
    assert '<tr class="govuk-table__row odd">' in out
    assert 'class="govuk-table__cell govuk-table__cell--numeric"' in out
    assert 'class="govuk-table__header govuk-table__header--numeric"' in out
    assert '<td style="text-align: left;" class="govuk-table__cell">' in out
    assert '<a class="skip-link" href="#m">' in out and '<nav><a href="#x">x</a>' in out  # before <main>


def test_the_built_report_is_styled_when_the_package_is_installed(small_run):
    if govuk.frontend_css(REPO) is None:
        pytest.skip("GOV.UK Frontend is not installed in .cache/govuk (make report-tools)")
    html = (small_run / "report" / "cla-ethnicity-2024.html").read_text(encoding="utf-8")
    # pandoc drops CSS comments (the marker) as it embeds the stylesheet: look for GOV.UK Frontend's own rules
    assert ".govuk-table__cell--numeric{" in html.replace(" {", "{") and "govuk-heading-xl{" in html
    assert 'class="govuk-table__cell govuk-table__cell--numeric"' in html and 'class="govuk-heading-xl' in html
    assert "/assets/fonts" not in html and "@font-face" not in html
