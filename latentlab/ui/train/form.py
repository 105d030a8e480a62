"""The settings of a training run (model, dataset, sizes, schedule, output folder) as a form.

Everything is chosen here before any heavy work starts; `build_config()` turns the form into a
validated `TrainConfig` (cheap: no data is read). File and folder datasets open a dialog when picked
from the list; scripts and tests set them with `set_dataset_spec()` instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from latentlab.data import KINDS, parse_spec
from latentlab.errors import ConfigError
from latentlab.models import available_models

# The latent-variable families the window can train and then explore (previews, live latent map; a GAN
# without an encoder shows prior samples only); the pixel models train from the command line until
# the window has its pixel-by-pixel view.
WINDOW_FAMILIES = ("vae", "dvae", "ae", "aae", "wae", "wae-gan", "ali", "gan")


def window_models() -> dict[str, str]:
    models = available_models()
    return {name: models[name] for name in WINDOW_FAMILIES if name in models}
from trainers.config import TrainConfig

#: (kind, label, what the dialog asks for: None, "dir" or "file")
DATASET_CHOICES = (
    ("synthetic-faces", "Synthetic faces (built-in)", None),
    ("celeba", "CelebA folder…", "dir"),
    ("folder", "Image folder…", "dir"),
    ("idx", "IDX file (MNIST format)…", "file"),
)
DEFAULT_SPEC = "synthetic-faces"
IDX_FILTER = "IDX images (*idx3-ubyte *idx3-ubyte.gz);;All files (*)"
#: settings without a widget, changeable through set_options (previews often enough for a live map)
HIDDEN_DEFAULTS: dict[str, Any] = {"max_steps": None, "preview_every": 50, "checkpoint_every": 500,
                                   "eval_limit": 1000, "seed": 0, "model_config": {}}


def default_output_folder(model: str) -> Path:
    """`<user data dir>/runs/<model>-<YYYYmmdd-HHMMSS>`, with a suffix if that folder exists."""
    base = Path(platformdirs.user_data_dir("latentlab")) / "runs" / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class TrainingForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QComboBox()
        for name, text in window_models().items():
            self.model.addItem(name, name)
            self.model.setItemData(self.model.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        if self.model.findData("vae") >= 0:
            self.model.setCurrentIndex(self.model.findData("vae"))
        self.dataset = QComboBox()
        for kind, label, _ in DATASET_CHOICES:
            self.dataset.addItem(label, kind)
            self.dataset.setItemData(self.dataset.count() - 1, KINDS[kind], Qt.ItemDataRole.ToolTipRole)
        self.dataset_label = QLabel()
        self.dataset_label.setWordWrap(True)
        self.size = _spin(8, 128, 64, "image side in pixels (images are cropped and resized to it)")
        self.latent = _spin(2, 256, 32, "latent size (2 shows the latent plane itself)")
        self.epochs = _spin(1, 10_000, 5, "passes over the training set")
        self.batch = _spin(2, 4096, 64, "images per optimisation step")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(2e-4)
        self.lr.setToolTip("Adam learning rate")
        self.limit = _spin(0, 100_000_000, 0, "use only the first N training images")
        self.limit.setSpecialValueText("all")
        self.output = QLineEdit()
        self.browse = QPushButton("Browse…")
        out_row = QHBoxLayout()
        out_row.setContentsMargins(0, 0, 0, 0)
        out_row.addWidget(self.output, 1)
        out_row.addWidget(self.browse)

        layout = QFormLayout(self)
        layout.addRow("Model", self.model)
        layout.addRow("Dataset", self.dataset)
        layout.addRow("", self.dataset_label)
        layout.addRow("Image size", self.size)
        layout.addRow("Latent size", self.latent)
        layout.addRow("Epochs", self.epochs)
        layout.addRow("Batch", self.batch)
        layout.addRow("Learning rate", self.lr)
        layout.addRow("Limit", self.limit)
        layout.addRow("Output folder", out_row)

        self._hidden = {k: (dict(v) if isinstance(v, dict) else v) for k, v in HIDDEN_DEFAULTS.items()}
        self._spec = DEFAULT_SPEC
        self._dataset_index = 0
        self._output_is_default = True
        self.set_dataset_spec(DEFAULT_SPEC)
        self.refresh_output_folder()
        self.dataset.activated.connect(self._dataset_picked)
        self.model.currentIndexChanged.connect(lambda _: self.refresh_output_folder())
        self.output.textEdited.connect(self._output_edited)
        self.browse.clicked.connect(self._browse_output)

    # ------------------------------------------------------------------ programmatic settings
    def dataset_spec(self) -> str:
        return self._spec

    def set_dataset_spec(self, spec: str) -> None:
        """Use dataset `spec` (no dialog); its size option, or the kind's default, fills Image size."""
        parsed = parse_spec(spec)
        index = self.dataset.findData(parsed.kind)
        if index < 0:  # a kind without a menu entry (fashion-mnist, svhn, ...): list it as itself
            self.dataset.addItem(parsed.kind, parsed.kind)
            index = self.dataset.count() - 1
        self.dataset.setCurrentIndex(index)
        self._dataset_index = index
        self._spec = parsed.to_string()
        self.size.setValue(max(self.size.minimum(), min(self.size.maximum(), parsed.option("size"))))
        self.dataset_label.setText(self._spec)
        self.dataset_label.setToolTip(KINDS[parsed.kind])

    def set_options(self, **options: Any) -> None:
        """Set form values by name: model, size, latent, epochs, batch, lr, limit (None = all), out,
        and settings without a widget: max_steps, preview_every, checkpoint_every, eval_limit, seed,
        model_config (extra model settings, e.g. {"base_channels": 8})."""
        boxes = {"size": self.size, "latent": self.latent, "epochs": self.epochs, "batch": self.batch}
        for key, value in options.items():
            if key in boxes:
                boxes[key].setValue(int(value))
            elif key == "model":
                index = self.model.findData(value)
                if index < 0:
                    raise ConfigError(f"unknown model {value!r}; the window trains: {', '.join(window_models())}")
                self.model.setCurrentIndex(index)
            elif key == "lr":
                self.lr.setValue(float(value))
            elif key == "limit":
                self.limit.setValue(int(value or 0))
            elif key == "out":
                self.output.setText(str(value))
                self._output_is_default = False
            elif key in self._hidden:
                self._hidden[key] = dict(value) if key == "model_config" else value
            else:
                raise TypeError(f"unknown training option {key!r}")

    def refresh_output_folder(self) -> None:
        """A fresh default output folder (for the current model), unless the user chose one."""
        if self._output_is_default:
            self.output.setText(str(default_output_folder(self.model.currentData())))

    def build_config(self) -> TrainConfig:
        """The run the form describes; raises a LatentLabError naming a bad value."""
        out = self.output.text().strip()
        if not out:
            raise ConfigError("choose an output folder for the run")
        spec = parse_spec(self._spec).with_options(size=self.size.value())
        hidden = self._hidden
        config = TrainConfig(
            model=self.model.currentData(), data=spec.to_string(), out=str(Path(out).expanduser()),
            model_config={"latent_dim": self.latent.value(), **hidden["model_config"]},
            epochs=self.epochs.value(), batch_size=self.batch.value(), lr=self.lr.value(),
            limit=self.limit.value() or None, max_steps=hidden["max_steps"], seed=hidden["seed"],
            checkpoint_every=hidden["checkpoint_every"], preview_every=hidden["preview_every"],
            eval_limit=hidden["eval_limit"])
        config.validate()
        return config

    # ------------------------------------------------------------------ dialogs
    def _dataset_picked(self, index: int) -> None:
        kind = self.dataset.itemData(index)
        asks = dict((k, a) for k, _, a in DATASET_CHOICES).get(kind)
        if asks is None:
            if parse_spec(self._spec).kind != kind:
                self.set_dataset_spec(kind)
            return
        title = self.dataset.itemText(index).rstrip("…")
        if asks == "dir":
            path = QFileDialog.getExistingDirectory(self, title)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, "", IDX_FILTER)
        if path:
            self.set_dataset_spec(f"{kind}:{path}")
        else:  # dialog cancelled: keep the previous dataset
            self.dataset.setCurrentIndex(self._dataset_index)

    def _output_edited(self, _text: str) -> None:
        self._output_is_default = False

    def _browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder for the run")
        if folder:
            self.output.setText(folder)
            self._output_is_default = False
