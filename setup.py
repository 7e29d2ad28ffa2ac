"""Packaging: the five top-level folders are one installed package, `qamoe`, and every subpackage
inside them is found here (a new folder with an `__init__.py` ships without touching this file).
Everything else (name, dependencies, entry points, package data) is in pyproject.toml."""

from setuptools import find_packages, setup

# installed name -> folder in the checkout
# (also the layer order, lowest first: a folder imports only the folders before it; tests/test_layers.py)
ROOTS = {
    "qamoe": "qamoe",
    "qamoe.extractors": "extractors",
    "qamoe.calibration": "calibration",
    "qamoe.realtime": "realtime",
    "qamoe.cli": "cli",
}


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]
    return found


if __name__ == "__main__":
    setup(packages=packages(), package_dir=ROOTS)
