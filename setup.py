"""Packaging: the four top-level folders are one installed package, `qamoe`, and every subpackage
inside them is found here (a new folder with an `__init__.py` ships without touching this file).
Everything else (name, dependencies, entry points, package data) is in pyproject.toml."""

from setuptools import find_packages, setup

# installed name -> folder in the checkout
ROOTS = {"qamoe": "qamoe", "qamoe.extractors": "extractors", "qamoe.realtime": "realtime", "qamoe.calibration": "calibration"}


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]
    return found


if __name__ == "__main__":
    setup(packages=packages(), package_dir=ROOTS)
