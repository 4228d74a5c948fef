"""rap.report.schema: the generated _quarto.yml validates; wrong configs do not."""

import copy

import pytest

from rap.report.project import quarto_config
from rap.report.schema import load_schema, validate_front_matter, validate_quarto_yaml


@pytest.fixture(scope="module")
def config():
    return quarto_config(
        title="Children looked after in England: ethnicity",
        subtitle="Reporting year 2024",
        year=2024,
        chapters=["01_overview.ipynb", "02_trends.ipynb"],
        formats=("html", "docx", "pdf"),
        name="cla-ethnicity-2024",
    )


def test_schema_is_packaged_with_its_source_note():
    from importlib import resources

    root = resources.files("rap.report").joinpath("quarto-schema")
    assert "MIT" in root.joinpath("SOURCE.md").read_text()
    schema = load_schema()
    assert "project-config" in schema and "front-matter" in schema


def test_generated_config_is_valid(config):
    assert config["project"]["type"] == "book"
    assert config["execute"]["enabled"] is False
    # a book's pages would embed each other (Quarto 1.11): the HTML is a site, one page per chapter
    assert "embed-resources" not in config["format"]["html"]
    assert config["book"]["author"]  # the Typst book template fails without one
    assert "typst" in config["format"]
    assert validate_quarto_yaml(config) == []


def test_unknown_key_under_closed_object(config):
    bad = copy.deepcopy(config)
    bad["project"]["typo-key"] = 1
    bad["book"]["titel"] = "x"
    errors = validate_quarto_yaml(bad)
    assert any(e.startswith("project.typo-key: unknown property") for e in errors), errors
    assert any(e.startswith("book.titel: unknown property") for e in errors), errors


def test_wrong_project_type(config):
    bad = copy.deepcopy(config)
    bad["project"]["type"] = "bookk"
    errors = validate_quarto_yaml(bad)
    assert len(errors) == 1 and "bookk" in errors[0]


@pytest.mark.parametrize(
    "path, value, fragment",
    [
        (("execute", "enabled"), "no", "execute.enabled"),
        (("format", "html", "toc"), "yes", "format.html.toc"),
        (("format", "html", "embed_resources"), True, "case convention"),
        (("format", "htmll"), {}, "format.htmll"),
        (("book", "chapters"), "index.qmd", "book.chapters"),
        (("lang",), 5, "lang"),
    ],
)
def test_type_errors(config, path, value, fragment):
    bad = copy.deepcopy(config)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = validate_quarto_yaml(bad)
    assert errors and any(fragment in e for e in errors), errors


def test_front_matter():
    assert validate_front_matter({"title": "Summary", "toc": True}) == []
    assert validate_front_matter({"title": "Summary", "toc": "sometimes"})
