import json

from rap.config import load_params
from rap.inputs import ensure_data


def test_synthetic_data_are_made_once_and_remade_when_stale(tmp_path, repo_root):
    params = load_params(repo_root / "params" / "2024.yaml", synth={"scale": "small"},
                         data={"path": str(tmp_path / "syn")})
    manifest = ensure_data(params) / "manifest.json"
    first = manifest.stat().st_mtime_ns
    ensure_data(params)
    assert manifest.stat().st_mtime_ns == first, "unchanged parameters and generator: nothing regenerated"

    m = json.loads(manifest.read_text())
    m["generator_fingerprint"] = "made-by-older-code"
    manifest.write_text(json.dumps(m))
    ensure_data(params)
    assert json.loads(manifest.read_text())["generator_fingerprint"] != "made-by-older-code"

    other = load_params(repo_root / "params" / "2024.yaml", synth={"scale": "small", "seed": 7},
                        data={"path": str(tmp_path / "syn")})
    ensure_data(other)
    assert json.loads(manifest.read_text())["seed"] == 7
