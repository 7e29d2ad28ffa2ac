"""Each top-level folder is one layer, and imports go one way between them (docs/ARCHITECTURE.md).

The layers are the folders, in the order `setup.py` installs them (lowest first): qamoe <- extractors
<- calibration <- realtime <- cli. Inside `qamoe/` the same rule holds between its parts: the modules
directly in the folder (the core) <- `qamoe/data/` (loaders) <- `qamoe/harness/` (evaluation).

Two checks: every import statement in the package, lazy ones inside functions included, and every
module named as a string to importlib, names a module of its own folder or a lower one; and importing
every module of a folder in a fresh interpreter loads no module of a higher one. Plus: every folder of
the package ships (setup.py finds it)."""

from __future__ import annotations

import ast
import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# installed package -> folder, in layer order (setup.py's ROOTS: the one place the order is written)
PACKAGES = runpy.run_path(str(ROOT / "setup.py"), run_name="layer_probe")["ROOTS"]
FOLDERS = {folder: package for package, folder in PACKAGES.items()}
ORDER = tuple(FOLDERS)  # ('qamoe', 'extractors', 'calibration', 'realtime', 'cli')
CORE_PARTS = ("", "data", "harness")  # inside qamoe/: its own modules, then these subfolders


def package_modules() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join((package, *parts))] = path
    return modules


def path_of(module: str) -> Path:
    """The file that defines `module` (or the package a `from package import name` names)."""
    while module not in MODULES:
        module = module.rpartition(".")[0]
    return MODULES[module]


def layer_of(module: str) -> str:
    """The top-level folder the module's file is in."""
    return path_of(module).relative_to(ROOT).parts[0]


def core_part_of(module: str) -> str:
    """Inside qamoe/: '' for a module directly in the folder, else its subfolder."""
    parts = path_of(module).relative_to(ROOT / "qamoe").parts
    return parts[0] if len(parts) > 1 else ""


def rank(module: str) -> tuple[int, int]:
    layer = layer_of(module)
    return ORDER.index(layer), CORE_PARTS.index(core_part_of(module)) if layer == "qamoe" else 0


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


def test_the_layers_are_the_folders():
    assert ORDER == ("qamoe", "extractors", "calibration", "realtime", "cli")
    assert layer_of("qamoe.model") == "qamoe" and layer_of("qamoe.harness.protocols") == "qamoe"
    assert rank("qamoe.model") < rank("qamoe.data.ravdess") < rank("qamoe.harness.protocols") < rank("qamoe.extractors.base")
    assert layer_of("qamoe.extractors.datasets.fer") == "extractors"
    assert layer_of("qamoe.realtime.predictor.Predictor") == "realtime" and layer_of("qamoe.cli.live") == "cli"
    # every module sits in one of the folders, and every folder holds modules
    assert {layer_of(m) for m in MODULES} == set(ORDER)


def test_no_import_statement_looks_up_a_layer():
    upward = []
    for module, path in MODULES.items():
        for line, name in imported_modules(module, path):
            if rank(name) > rank(module):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({path_of(name).relative_to(ROOT)})")
    assert not upward, "imports that run uphill:\n" + "\n".join(upward)


def test_the_scan_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import importlib\nfrom importlib import import_module\nfrom . import shards\nfrom ..cli import common\n\n"
        "def f():\n    import qamoe.realtime.app\n    importlib.import_module('qamoe.calibration.profile')\n"
        "    __import__('qamoe.cli.live')\n    import_module('.realtime.sources', 'qamoe')\n"
        "    importlib.import_module('..realtime.predictor', package=__package__)\n"
        "    importlib.import_module(name_in_a_variable)\n    __import__('numpy')\n")
    names = {name for _, name in imported_modules("qamoe.extractors.probe", source)}
    assert {"qamoe.extractors.shards", "qamoe.cli.common", "qamoe.realtime.app", "qamoe.calibration.profile",
            "qamoe.cli.live", "qamoe.realtime.sources", "qamoe.realtime.predictor"} <= names
    assert not {"numpy", "importlib"} & names  # only qamoe modules count


RANKS = sorted({rank(m) for m in MODULES})


@pytest.mark.parametrize("level", RANKS[:-1], ids=lambda r: ORDER[r[0]] + (f"/{CORE_PARTS[r[1]]}" if r[0] == 0 and r[1] else ""))
def test_importing_a_layer_loads_nothing_above_it(level):
    modules = sorted(m for m in MODULES if rank(m) == level)
    probe = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'qamoe' or m.startswith('qamoe.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    above = [m for m in loaded if rank(m) > level]
    assert not above, f"importing {modules[0]} and its level loaded: {above}"


def test_every_package_folder_ships():
    """setup.py finds subpackages itself; a folder of modules without an __init__.py would not ship."""
    found = set(runpy.run_path(str(ROOT / "setup.py"), run_name="packaging_probe")["packages"]())
    expected = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    assert expected <= found
    for module, path in MODULES.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        assert package in found, f"{path.relative_to(ROOT)} is in a folder that does not ship (no __init__.py?)"


def test_every_import_in_the_package_names_a_module_that_exists():
    """A module moved between folders leaves no lazy import behind that only fails when its path runs."""
    dangling = []
    for module, path in MODULES.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = [_resolve(package, node.level, node.module)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            dangling += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                         if (n == "qamoe" or n.startswith("qamoe.")) and n not in MODULES]
    assert not dangling, "imports of modules that do not exist:\n" + "\n".join(dangling)


def _top_level_names(path: Path) -> set[str]:
    """Names a module binds at its top level (defs, classes, assignments, imports; inside if/try too)."""
    names: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for part in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, part, []))
            elif isinstance(node, ast.ExceptHandler):
                visit(node.body)
    visit(ast.parse(path.read_text(), str(path)).body)
    return names


def test_every_name_imported_from_the_package_is_defined_there():
    """`from qamoe.x import name` in the package, the tests, the benchmarks and the scripts names
    something x defines (or a submodule of x): a name moved to another module leaves no import behind
    that only fails when its line runs."""
    files = [*MODULES.items(), *((None, p) for folder in ("tests", "benchmarks", "scripts")
                                 for p in sorted((ROOT / folder).rglob("*.py")))]
    defined: dict[str, set[str]] = {}
    wrong = []
    for module, path in files:
        package = (module if path.name == "__init__.py" else module.rpartition(".")[0]) if module else ""
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _resolve(package, node.level, node.module) if module or not node.level else ""
            if source not in MODULES:
                continue
            if source not in defined:
                defined[source] = _top_level_names(MODULES[source])
            wrong += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name} from {source}" for a in node.names
                      if a.name != "*" and a.name not in defined[source] and f"{source}.{a.name}" not in MODULES]
    assert not wrong, "imported names their module does not define:\n" + "\n".join(wrong)
