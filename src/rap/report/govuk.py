"""GOV.UK Frontend styling for the HTML report, vendored at build time, never fetched by the page.

``make report-tools`` (run by ``make report`` and ``make test``: tools/install_govuk_frontend.sh) installs the
pinned npm package ``govuk-frontend`` (MIT licence) into ``.cache/govuk``. When it is there, the report's
stylesheet is GOV.UK Frontend's compiled CSS followed by the package's own ``report.css``, and the HTML's
elements get GOV.UK Frontend's classes (``govuk-heading-l``, ``govuk-body``, ``govuk-table__cell--numeric``...).
Its ``@font-face`` rules and ``/assets`` images are dropped: the GDS Transport font is only for GOV.UK
domains, and the page must make no request (GOV.UK Frontend then falls back to Arial, as it does off GOV.UK).
Without the package the report keeps ``report.css`` alone and the build says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: The version ``tools/install_govuk_frontend.sh`` installs (and the only one used).
VERSION = "6.6.0"
#: The first line of a stylesheet that carries GOV.UK Frontend: the renderers add its classes when they see it.
MARKER = f"/* GOV.UK Frontend {VERSION} (MIT licence), vendored at build time; fonts and images removed */"
_PACKAGE = Path(".cache") / "govuk" / "node_modules" / "govuk-frontend"
_CSS = Path("dist") / "govuk" / "govuk-frontend.min.css"
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_ASSET_URL = re.compile(r"url\((['\"]?)/assets/[^)]*\)")


def frontend_css(project_root: Path) -> str | None:
    """GOV.UK Frontend's compiled CSS from the project's ``.cache/govuk`` (else that of the clone this package
    runs from, where ``make report-tools`` puts it), without fonts or asset images; None when the pinned
    version is in neither."""
    checkout = Path(__file__).resolve().parents[3]  # src/rap/report/govuk.py -> the clone
    for root in (Path(project_root), checkout):
        css = _css_in(root / _PACKAGE)
        if css is not None:
            return css
    return None


def _css_in(package: Path) -> str | None:
    try:
        version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
        css = (package / _CSS).read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError):
        return None
    if version != VERSION:
        return None
    return MARKER + "\n" + _ASSET_URL.sub("none", _FONT_FACE.sub("", css)) + "\n"


#: element -> the GOV.UK Frontend class(es) it gets inside the report's content.
CLASSES = {
    "h1": "govuk-heading-xl",
    "h2": "govuk-heading-l",
    "h3": "govuk-heading-m",
    "h4": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
    "table": "govuk-table",
    "caption": "govuk-table__caption govuk-table__caption--s",
    "thead": "govuk-table__head",
    "tbody": "govuk-table__body",
    "tr": "govuk-table__row",
    "th": "govuk-table__header",
    "td": "govuk-table__cell",
}
_TAG = re.compile(r"<(" + "|".join(CLASSES) + r")(\s[^>]*)?>")
_CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')


def _with_class(m: re.Match) -> str:
    tag, attrs = m.group(1), m.group(2) or ""
    if tag == "a" and "skip-link" in attrs:
        return m.group(0)
    cls = CLASSES[tag]
    if tag in ("th", "td") and "text-align: right" in attrs:
        cls += f" govuk-table__{'header' if tag == 'th' else 'cell'}--numeric"
    if _CLASS_ATTR.search(attrs):
        attrs = _CLASS_ATTR.sub(lambda c: f' class="{cls} {c.group(1)}"', attrs, count=1)
    else:
        attrs += f' class="{cls}"'
    return f"<{tag}{attrs}>"


def with_govuk_classes(html: str, start: str = "<main") -> str:
    """``html`` with GOV.UK Frontend's classes on the content's headings, paragraphs, lists, links and tables
    (from ``start`` to the end of the body). The page itself keeps the report's layout (a centred column on
    white): ``govuk-template`` would paint the margins GOV.UK grey around a page that has no GOV.UK header."""
    i = html.find(start)
    if i < 0:
        return html
    return html[:i] + _TAG.sub(_with_class, html[i:])


def styled(css: str) -> bool:
    """Whether a report stylesheet carries GOV.UK Frontend."""
    return css.startswith(MARKER)
