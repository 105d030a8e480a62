"""Model families from other packages (the `latentlab.models` entry points, docs/plugins.md).

The example plugin in tests/plugin_example is installed with pip (--no-deps --no-index
--no-build-isolation, so offline) into a temporary folder, and a subprocess with that folder on its
path finds the family, builds, saves, loads and explores one of its models. Broken plugins are
written by hand as a dist-info folder with an entry_points.txt, which is all that discovery reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from latentlab.errors import ConfigError
from latentlab.models import available_models, register
from latentlab.models.base import ConvModelConfig, LatentVariableModel

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "tests" / "plugin_example"
TIMEOUT = 300


def run_python(code: str, *paths: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*map(str, paths), str(REPO_ROOT)]), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, cwd=paths[0] if paths else None)


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example plugin pip-installed into a folder of its own (the sources are copied first, so
    the build leaves nothing in the repository)."""
    root = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, root / "source", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation",
                           "--target", str(target), str(source)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "latentlab_linear_ae-0.1.0.dist-info" / "entry_points.txt").is_file()
    return target


@pytest.mark.slow
def test_an_installed_plugin_family_is_listed_built_saved_loaded_and_explored(installed_example, tmp_path):
    done = run_python(f"""
        import numpy as np
        import torch
        import latentlab
        from latentlab.checkpoints import read_checkpoint, save_model
        from latentlab.explorer.session import ExplorerSession
        from latentlab.models import available_models, build_model, entry, plugin_errors

        assert available_models()["linear_ae"] == "linear autoencoder (example plugin)", available_models()
        assert "vae" in available_models() and plugin_errors() == {{}}, plugin_errors()
        assert entry("linear_ae").plugin == "latentlab-linear-ae: linear_ae"
        model = build_model("linear_ae", {{"image_shape": [1, 12, 12], "latent_dim": 3, "likelihood": "gaussian"}})
        torch.manual_seed(0)
        x = torch.rand(5, 1, 12, 12)
        model.losses(x)["loss"].backward()
        path = save_model(r"{tmp_path / 'linear.ckpt'}", model)
        loaded = latentlab.load(path)
        assert type(loaded).__name__ == "LinearAutoencoder" and loaded.config == model.config
        assert torch.equal(loaded.decode(torch.ones(2, 3)).mean, model.decode(torch.ones(2, 3)).mean)
        session = ExplorerSession.from_checkpoint(path)
        assert session.model_name == "linear_ae" and session.latent_dim == 3 and session.has_encoder
        faces = session.decode(np.zeros((2, 3), np.float32))
        assert faces.shape == (2, 1, 12, 12) and faces.dtype == np.uint8
        codes = session.encode_images((x[:2] * 255).to(torch.uint8).numpy())
        assert codes.shape == (2, 3)
        print("ok", read_checkpoint(path).model_name)
    """, installed_example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok linear_ae" in done.stdout


@pytest.mark.slow
def test_the_trainer_lists_an_installed_plugin_family(installed_example):
    done = subprocess.run([sys.executable, "-m", "trainers.cli", "--help"], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=installed_example,
                          env=dict(os.environ, PYTHONPATH=f"{installed_example}{os.pathsep}{REPO_ROOT}"))
    assert done.returncode == 0, done.stderr
    assert "linear_ae" in done.stdout


def write_plugin(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A minimal installed distribution: dist-info with METADATA and entry_points.txt, plus modules."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[latentlab.models]\n" + "".join(f"{name} = {value}\n" for name, value in entry_points.items()))
    for name, text in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(text))


BROKEN_MODULES = {
    "broken_plugin": """
        import missing_dependency_of_the_plugin  # noqa: F401
    """,
    "clashing_plugin": """
        from dataclasses import dataclass
        from latentlab.models.autoencoder import Autoencoder
        from latentlab.models.base import ConvModelConfig
        from latentlab.models.registry import register

        @dataclass
        class Config(ConvModelConfig):
            pass

        @register("clash_first", Config, "registered before the clash")
        class First(Autoencoder):
            pass

        @register("vae", Config, "tries to replace the built-in VAE")
        class NotTheVAE(Autoencoder):
            pass
    """,
    "fine_plugin": """
        from dataclasses import dataclass
        from latentlab.models.autoencoder import Autoencoder
        from latentlab.models.base import ConvModelConfig
        from latentlab.models.registry import register

        def setup():
            @dataclass
            class FineConfig(ConvModelConfig):
                pass

            @register("fine_ae", FineConfig, "registered by a callable entry point")
            class FineAE(Autoencoder):
                pass
    """,
}


def test_a_broken_plugin_is_reported_in_one_line_and_the_built_ins_still_work(tmp_path):
    site = tmp_path / "site"
    write_plugin(site, "broken-plugin", {"broken": "broken_plugin"}, {"broken_plugin": BROKEN_MODULES["broken_plugin"]})
    write_plugin(site, "clashing-plugin", {"clash": "clashing_plugin"},
                 {"clashing_plugin": BROKEN_MODULES["clashing_plugin"]})
    write_plugin(site, "fine-plugin", {"fine": "fine_plugin:setup"}, {"fine_plugin": BROKEN_MODULES["fine_plugin"]})
    done = run_python("""
        import torch
        from latentlab.errors import ConfigError
        from latentlab.models import available_models, build_model, entry, plugin_errors
        from latentlab.models.vae import VAE

        models = available_models()
        assert "vae" in models and "ae" in models and "fine_ae" in models, models
        assert "clash_first" not in models, models  # a failed plugin keeps none of its families
        assert entry("vae").model_class is VAE and entry("vae").plugin is None
        model = build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 2, "base_channels": 4})
        assert model.eval().decode(torch.zeros(1, 2)).mean.shape == (1, 1, 16, 16)
        errors = plugin_errors()
        assert sorted(errors) == ["broken-plugin: broken", "clashing-plugin: clash"], errors
        try:
            entry("linear_ae")
        except ConfigError as err:
            print("unknown:", err)
        for message in errors.values():
            print("error:", message)
    """, site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 2, done.stderr  # one line per broken plugin, nothing else
    assert ("latentlab: model plugin 'broken-plugin: broken' (broken_plugin) failed to load: ModuleNotFoundError: "
            "No module named 'missing_dependency_of_the_plugin'") in warnings
    clash = next(line for line in warnings if "clashing-plugin" in line)
    assert "model family 'vae' is already registered by a built-in family" in clash, clash
    unknown = next(line for line in done.stdout.splitlines() if line.startswith("unknown:"))
    assert "unknown model 'linear_ae'" in unknown and "broken-plugin: broken" in unknown, unknown


def test_a_family_name_cannot_be_taken_twice():
    @dataclass
    class OtherConfig(ConvModelConfig):
        pass

    class Other(LatentVariableModel):
        pass

    before = available_models()
    with pytest.raises(ConfigError, match="'vae' is already registered by a built-in family"):
        register("vae", OtherConfig, "not the VAE")(Other)
    with pytest.raises(ConfigError, match="not a dataclass"):
        register("other_family", dict, "bad config")(Other)
    with pytest.raises(ConfigError, match="not a torch.nn.Module class"):
        register("other_family", OtherConfig, "bad class")(object)
    assert available_models() == before
    assert not hasattr(Other, "registry_name")
