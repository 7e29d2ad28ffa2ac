"""Layers only look down: core <- data <- extractors <- live <- cli (docs/ARCHITECTURE.md).

Two checks: every import statement in the package, lazy ones inside functions included, names a
module of its own layer or a lower one; and importing every module of a layer in a fresh interpreter
loads no module of a higher layer. Plus: every folder of the package ships (setup.py finds it)."""

from __future__ import annotations

import ast
import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"qamoe": "qamoe", "extractors": "qamoe.extractors", "realtime": "qamoe.realtime", "calibration": "qamoe.calibration"}
ORDER = ("core", "data", "extractors", "live", "cli")
# module prefix -> layer; the longest matching prefix wins, anything else under qamoe is core
PREFIXES = {
    "qamoe.data": "data", "qamoe.protocols": "data", "qamoe.report": "data", "qamoe.experiments": "data",
    "qamoe.extractors": "extractors",
    "qamoe.realtime": "live", "qamoe.calibration": "live", "qamoe.predictor": "live",
    "qamoe.cli": "cli",
}


# the one allowed exception: `qamoe.Predictor` is the package's front door, re-exported lazily by
# qamoe/__init__.py on first use (importing qamoe loads nothing above the core; checked below)
FRONT_DOOR = {("qamoe", "qamoe.predictor")}


def layer_of(module: str) -> str:
    matches = [p for p in PREFIXES if module == p or module.startswith(p + ".")]
    return PREFIXES[max(matches, key=len)] if matches else "core"


def package_modules() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join((package, *parts))] = path
    return modules


def _resolve(package: str, level: int, name: str | None) -> str:
    """The absolute name of `name` imported `level` dots up from `package` (level 0: absolute)."""
    if not level:
        return name or ""
    base = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join(base + ([name] if name else []))


def _imported_by_string(node: ast.Call, package: str) -> str | None:
    """The absolute module name given as a string constant to importlib.import_module /
    import_module / __import__ (a relative one resolved against the call's package argument when
    that is a string constant, else against the caller's package); None for any other call."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if called not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    given = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "package")] if called == "import_module" else []
    if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, str):
        package = given[0].value
    level = len(first.value) - len(first.value.lstrip("."))
    return _resolve(package, level, first.value[level:] or None)


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every qamoe import in the file, relative ones resolved, and of
    every module named by a string constant to importlib.import_module or __import__."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = _resolve(package, node.level, node.module)
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if f"{name}.{a.name}" in MODULES]
        elif isinstance(node, ast.Call) and (name := _imported_by_string(node, package)) is not None:
            found.append((node.lineno, name))
    return [(line, name) for line, name in found if name == "qamoe" or name.startswith("qamoe.")]


MODULES = package_modules()


def test_the_layer_table_classifies_known_modules():
    assert layer_of("qamoe.model") == "core" and layer_of("qamoe.inference") == "core"
    assert layer_of("qamoe.data.ravdess") == "data" and layer_of("qamoe.protocols") == "data"
    assert layer_of("qamoe.extractors.datasets.fer") == "extractors"
    assert layer_of("qamoe.realtime.drivers") == "live" and layer_of("qamoe.predictor") == "live"
    assert layer_of("qamoe.cli.live") == "cli"


def test_no_import_statement_looks_up_a_layer():
    upward = []
    for module, path in MODULES.items():
        rank = ORDER.index(layer_of(module))
        for line, name in imported_modules(module, path):
            if ORDER.index(layer_of(name)) > rank and (module, name) not in FRONT_DOOR:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({layer_of(module)}) imports {name} ({layer_of(name)})")
    assert not upward, "imports that run uphill:\n" + "\n".join(upward)


def test_the_scan_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import importlib\nfrom importlib import import_module\nfrom . import shards\nfrom ..cli import common\n\n"
        "def f():\n    import qamoe.realtime.app\n    importlib.import_module('qamoe.calibration.profile')\n"
        "    __import__('qamoe.cli.live')\n    import_module('.realtime.sources', 'qamoe')\n"
        "    importlib.import_module('..predictor', package=__package__)\n"
        "    importlib.import_module(name_in_a_variable)\n    __import__('numpy')\n")
    names = {name for _, name in imported_modules("qamoe.extractors.probe", source)}
    assert {"qamoe.extractors.shards", "qamoe.cli.common", "qamoe.realtime.app", "qamoe.calibration.profile",
            "qamoe.cli.live", "qamoe.realtime.sources", "qamoe.predictor"} <= names
    assert not {"numpy", "importlib"} & names  # only qamoe modules count


@pytest.mark.parametrize("layer", ORDER[:-1])
def test_importing_a_layer_loads_nothing_above_it(layer):
    modules = sorted(m for m in MODULES if layer_of(m) == layer)
    probe = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'qamoe' or m.startswith('qamoe.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    above = [m for m in loaded if ORDER.index(layer_of(m)) > ORDER.index(layer)]
    assert not above, f"importing the {layer} layer loaded: {above}"


def test_every_package_folder_ships():
    """setup.py finds subpackages itself; a folder of modules without an __init__.py would not ship."""
    found = set(runpy.run_path(str(ROOT / "setup.py"), run_name="packaging_probe")["packages"]())
    expected = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    assert expected <= found
    for module, path in MODULES.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        assert package in found, f"{path.relative_to(ROOT)} is in a folder that does not ship (no __init__.py?)"
