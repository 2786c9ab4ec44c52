"""Packaging: the core imports without the UI libraries (or torch), ``codeplay_nb.widgets`` maps to the
repository's widgets/ folder, and pyproject.toml / environment.yml agree."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("ipywidgets", "IPython", "plotly", "torch", "transformers", "anywidget")

_BLOCKER = textwrap.dedent(f"""
    import sys

    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ImportError(f"blocked for the test: {{name}}")
            return None

    sys.meta_path.insert(0, _Block())
""")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _BLOCKER + textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=str(ROOT.parent), timeout=120)


def test_core_imports_without_ui_libraries_or_torch():
    fixture = ROOT / "tests" / "data" / "real_pop909_001_8bars.mid"
    res = _run(f"""
        import codeplay_nb
        from codeplay_nb import Attributes, CodeplayError, Piece, read_midi, write_midi
        from codeplay_nb.tokenizers.nnn import NNNTokenizer
        import codeplay_nb.music, codeplay_nb.io, codeplay_nb.instruments, codeplay_nb.attributes
        piece = read_midi({str(fixture)!r})
        ids = NNNTokenizer().encode(piece)
        assert NNNTokenizer().decode(ids).n_notes == piece.n_notes
        try:
            import ipywidgets
        except ImportError:
            pass
        else:
            raise SystemExit("the blocker does not work")
        print("ok", piece.n_notes, len(ids))
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ok ")


def test_import_is_cheap_and_has_no_heavy_side_effects():
    res = subprocess.run(
        [sys.executable, "-c", "import sys, codeplay_nb; "
                               "print(sorted(m for m in ('torch', 'transformers', 'ipywidgets', 'IPython', 'plotly',"
                               " 'note_seq', 'pretty_midi', 'music21') if m in sys.modules))"],
        capture_output=True, text=True, cwd=str(ROOT.parent), timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_lazy_attributes_resolve():
    import codeplay_nb

    for name in ("compose", "Song", "extend", "infill", "regenerate_track", "set_instrument", "add_track"):
        assert callable(getattr(codeplay_nb, name))
    with pytest.raises(AttributeError):
        _ = codeplay_nb.no_such_thing


def test_widgets_package_is_the_repository_folder():
    import importlib.util

    spec = importlib.util.find_spec("codeplay_nb.widgets")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == (ROOT / "widgets" / "__init__.py").resolve()
    # and no generic top-level "widgets" package is installed (checked outside the repository folder)
    res = subprocess.run([sys.executable, "-c", "import importlib.util as u; s = u.find_spec('widgets'); "
                          "print(s.origin if s else None)"], capture_output=True, text=True, cwd="/", timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "None" or Path(res.stdout.strip()).resolve().parent != (ROOT / "widgets").resolve()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_package_list_matches_the_folders():
    cfg = _pyproject()["tool"]["setuptools"]
    declared = set(cfg["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "codeplay_nb").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert declared == found | {"codeplay_nb.widgets"}
    assert cfg["package-dir"]["codeplay_nb.widgets"] == "widgets"
    assert (ROOT / "widgets" / "__init__.py").exists()


def test_console_script_and_extras():
    project = _pyproject()["project"]
    assert project["scripts"]["codeplay"] == "codeplay_nb.cli:main"
    extras = project["optional-dependencies"]
    assert {"notebook", "audio", "dev"} <= set(extras)
    assert not any(d.lower().startswith(("ipywidgets", "plotly", "ipython")) for d in project["dependencies"])
    assert not any(re.match(r"torch\s*[=<>~]", d) for d in project["dependencies"]), "torch must not be pinned"


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~\[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_installs_the_same_packages():
    env_file = ROOT / "environment.yml"
    if not env_file.exists():
        pytest.skip("environment.yml is not written yet")
    yaml = pytest.importorskip("yaml", reason="pyyaml (the dev extra) parses environment.yml")
    env = yaml.safe_load(env_file.read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "pip" in deps
    editable = [p for p in pip if p.startswith("-e")]
    assert len(editable) == 1, "environment.yml must install the project itself (pip: -e .[extras])"
    extras = set(re.search(r"\[(.*)\]", editable[0]).group(1).split(",")) if "[" in editable[0] else set()
    project = _pyproject()["project"]
    assert extras <= set(project["optional-dependencies"]), extras
    listed = {p.strip() for p in pip if not p.startswith("-")}
    assert {_name(p): p for p in listed} == {_name(p): p for p in project["dependencies"]}
    py = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert py, "environment.yml should pin the python version"
    minimum = project["requires-python"].lstrip(">=")
    assert tuple(int(x) for x in py[0].split("=")[-1].split(".")[:2]) >= tuple(int(x) for x in minimum.split("."))
