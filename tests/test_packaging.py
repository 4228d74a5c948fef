"""The project's own files must install what it needs: conda and pip users get the same packages."""

import re
import tomllib

import yaml


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_every_pyproject_dependency(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            conda.add(_name(dep.split("=")[0]))
    assert "quarto" in conda, "conda users get Quarto from conda-forge"
    assert re.search(r"python=3\.11", (repo_root / "environment.yml").read_text())
    missing = wanted - conda - pip
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"


def test_ci_runs_the_readme_test_command(repo_root):
    ci = (repo_root / ".ci" / "run").read_text()
    readme = (repo_root / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme
