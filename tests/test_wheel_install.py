"""A normal (non-editable) install carries the bundled models: build the wheel, install it into a
fresh venv without -e, and from outside the repository open the bundled default model, decode a
face and find the feature network, all from the installed copy.

The fresh venv gets the dependencies (torch, numpy, PySide6...) through a .pth file naming this
interpreter's site-packages, so nothing is downloaded; the wheel itself is installed into it by this
pip (--python) with --no-deps --no-index. Building uses this environment's setuptools without build isolation (offline).
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300
# Virtual environments, build outputs and local state: never sources, even where git does not ignore them.
NOT_SOURCES = (".git", ".venv*", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
               "out")

pytestmark = pytest.mark.slow  # about 8 s of CPU: copies the sources, builds and installs a 40 MB wheel

INSTALLED_CHECK = r"""
import sys
from pathlib import Path

import numpy as np

import latentlab
from latentlab.analysis.frechet import FeatureNetwork
from latentlab.explorer.session import ExplorerSession
from latentlab.resources import DEFAULT_MODEL, bundled_models, default_model

prefix = Path(sys.prefix).resolve()
assert Path(latentlab.__file__).resolve().is_relative_to(prefix), f"not the installed copy: {latentlab.__file__}"
path = default_model()  # what `latentlab` opens when given no checkpoint
assert path is not None, "no bundled default model found"
assert path.name == DEFAULT_MODEL and path.resolve().is_relative_to(prefix), path
session = ExplorerSession.from_checkpoint(path)  # how the window opens it, minus the window
z = np.random.default_rng(0).standard_normal((1, session.latent_dim)).astype(np.float32)
face = session.decode(z)
assert face.shape == (1, 3, 64, 64) and face.dtype == np.uint8 and face.max() > face.min(), face.shape
features = FeatureNetwork.load()  # the default feature network of the Frechet distance
assert features.path.resolve().is_relative_to(prefix), features.path
assert features.dim == 128
import trainers.cli
import latentlab.ui.app
for module in (trainers.cli, latentlab.ui.app):  # the console scripts' entry points, installed copies too
    assert Path(module.__file__).resolve().is_relative_to(prefix) and callable(module.main), module.__file__
print("models", len(bundled_models()))
print("default", path)
print("features", features.path)
"""


def _sources() -> list[Path]:
    """The repository's source files, relative to its root: what git tracks plus untracked files it
    does not ignore (so no runs/, .venv or build/ leftovers), or, outside a git checkout, the tree
    without the usual build outputs."""
    if shutil.which("git") and (REPO_ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO_ROOT, capture_output=True, check=True, timeout=TIMEOUT).stdout
        names = [Path(name) for name in listed.decode().split("\0") if name]
        return [name for name in names if not _never_source(name) and (REPO_ROOT / name).is_file()]
    return []


def _never_source(path: Path) -> bool:
    """A file under one of NOT_SOURCES at the top of the repository, or in a __pycache__ anywhere."""
    return "__pycache__" in path.parts or any(fnmatch.fnmatch(path.parts[0], pattern) for pattern in NOT_SOURCES)


def _copy_sources(target: Path) -> None:
    files = _sources()
    if not files:
        shutil.copytree(REPO_ROOT, target, ignore=shutil.ignore_patterns(*NOT_SOURCES), dirs_exist_ok=True)
        return
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target / name)


def _version(distribution: str) -> tuple[int, ...] | None:
    """The installed (major, minor) of a distribution, without importing it; None when absent."""
    try:
        return tuple(int(part) for part in importlib.metadata.version(distribution).split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return None


def _clean_env() -> dict[str, str]:
    """The environment for the installed copy: no PYTHONPATH (which would put the checkout first)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _run(args: list, cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    setuptools = _version("setuptools")
    if setuptools is None:
        pytest.skip("setuptools is not installed here, so the wheel cannot be built offline (pip install '.[test]')")
    if setuptools < (70, 1) and _version("wheel") is None:
        pytest.skip(f"setuptools {setuptools} cannot build wheels offline (needs setuptools>=70.1, which has "
                    "bdist_wheel, or the wheel package; pip install '.[test]')")
    source = tmp_path_factory.mktemp("source")
    _copy_sources(source)  # a copy, so the build leaves no build/ or egg-info in the checkout
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation", "--no-cache-dir",
          "-q", "-w", out, source], cwd=source)
    wheels = list(out.glob("latentlab-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_the_packages_and_every_bundled_file_and_nothing_else(built_wheel):
    with zipfile.ZipFile(built_wheel) as wheel:
        names = wheel.namelist()
        sizes = {info.filename: info.file_size for info in wheel.infolist()}
        scripts = wheel.read("latentlab-0.1.0.dist-info/entry_points.txt").decode()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"latentlab", "trainers", "latentlab-0.1.0.dist-info"}, tops  # no tests/, runs/, docs/, .venv
    for folder in ("models", "features"):
        shipped = {p.name for p in (REPO_ROOT / "resources" / folder).iterdir() if p.suffix in {".ckpt", ".md", ".json"}}
        in_wheel = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"latentlab/bundled/{folder}/")}
        assert in_wheel == shipped, (folder, in_wheel ^ shipped)
    code = sum(size for name, size in sizes.items() if not name.startswith("latentlab/bundled/"))
    assert code < 4 * 1024 * 1024, f"{code} bytes besides the bundled files"
    # The bundled files are the bulk (about 90 MB since four models are width 64); the wheel must stay
    # under PyPI's default per-file upload limit, 100 MB, to be publishable as it is.
    assert built_wheel.stat().st_size < 100 * 1000 * 1000, built_wheel.stat().st_size
    assert "latentlab = latentlab.ui.app:main" in scripts and "latentlab-train = trainers.cli:main" in scripts


def test_a_fresh_venv_with_the_wheel_opens_the_default_model_and_finds_the_feature_network(built_wheel, tmp_path):
    pip_version = tuple(int(p) for p in _run([sys.executable, "-m", "pip", "--version"], cwd=tmp_path).split()[1]
                        .split(".")[:2])
    if pip_version < (22, 3):
        pytest.skip(f"pip {pip_version} has no --python to install into another venv (pip>=22.3 has)")
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)  # this pip installs into it (--python): no ensurepip needed
    python, bin_dir = fresh / "bin" / "python", fresh / "bin"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # The dependencies from this environment, after the fresh venv's own site-packages (a .pth only
    # adds folders: the editable install's own .pth files there are not run).
    (Path(site) / "_latentlab_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", built_wheel],
         cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"  # outside the repository, so nothing can import the checkout
    elsewhere.mkdir()
    out = _run([python, "-c", INSTALLED_CHECK], cwd=elsewhere)
    assert f"default {Path(site) / 'latentlab' / 'bundled' / 'models' / 'vae-celeba.ckpt'}" in out, out
    assert "features " + str(Path(site) / "latentlab" / "bundled" / "features" / "celeba-ae128.ckpt") in out, out

    for script in ("latentlab", "latentlab-train"):
        path = bin_dir / script
        assert path.is_file(), f"{script} console script missing"
        assert path.read_text().splitlines()[0].startswith(f"#!{fresh}/"), path.read_text().splitlines()[0]
    assert "usage: latentlab" in _run([bin_dir / "latentlab", "--help"], cwd=elsewhere)  # the script runs
