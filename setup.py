"""Packaging beyond what pyproject.toml can say: the bundled models travel with the package.

The top-level `resources/` folder (the bundled checkpoints in resources/models and the feature
network in resources/features) is installed as the data package `latentlab.bundled`, so a wheel or
`pip install .` carries it as site-packages/latentlab/bundled/. pyproject.toml cannot list the
auto-discovered packages *plus* packages mapped from another folder, hence this file; everything
else is configured in pyproject.toml. `latentlab.resources` finds the files in either place: the
installed package data, or `resources/` beside the package in a checkout (run in place or
installed with `pip install -e .`).
"""

from setuptools import find_packages, setup

DATA = ["latentlab.bundled", "latentlab.bundled.models", "latentlab.bundled.features"]  # resources/, its folders

setup(
    packages=find_packages(include=["latentlab", "latentlab.*", "trainers", "trainers.*"]) + DATA,
    package_dir={"latentlab.bundled": "resources"},
    package_data={package: ["*.ckpt", "*.json", "README.md"] for package in DATA},
)
