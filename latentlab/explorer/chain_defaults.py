"""The chain setting the window opens on, per model: measured, not guessed.

`python -m latentlab.bench chain-defaults --write resources/models/chain-defaults.json` runs every
chain mode, with and without debiasing, on each bundled model against training faces and keeps, per
model, the setting and step count whose decodes score best (docs/chain-defaults.md). The window
opens a bundled model on its own row; a model of the same family that is not in the table (one the
user trained) on that family's measured row, labelled as such; any other model on the plain mean
chain, labelled "not measured". The table is read as JSON only: nothing in it is ever run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from latentlab.resources import MODELS
from latentlab.sampling.chain import TRANSITION_MODES

TABLE_FORMAT = "latentlab-chain-defaults"
TABLE_VERSION = 1
TABLE_PATH = MODELS / "chain-defaults.json"


@dataclass(frozen=True)
class ChainDefault:
    """mode: a chain mode; debias: subtract the training codes' mean move; pause_after: Play stops by
    itself after this many steps (0: never); improves: the measured best beats the prior samples;
    source: where the setting comes from, in words, for the panel."""

    mode: str = "mean"
    debias: bool = False
    pause_after: int = 0
    improves: bool | None = None
    score: float | None = None
    score_step0: float | None = None
    source: str = "not measured for this model"

    def describe(self) -> str:
        setting = f"{self.mode}{' + debias' if self.debias else ''}"
        if self.improves is None:
            return f"Default {setting}: {self.source}."
        steps = f"pausing after {self.pause_after} step{'s' if self.pause_after != 1 else ''}"
        if self.improves:
            verdict = (f"decodes score {self.score:.2f} against the prior samples' {self.score_step0:.2f} "
                       "(FD / floor, lower is better)")
        else:
            verdict = (f"no setting improved on the prior samples ({self.score_step0:.2f}); this one harms them "
                       f"least ({self.score:.2f})")
        return f"Default {setting}, {steps}: {verdict}, {self.source} (docs/chain-defaults.md)."


NOT_MEASURED = ChainDefault()


def load_table(path: Path | None = None) -> dict[str, dict]:
    """{checkpoint file name: entry} of a chain-defaults table; {} when there is none or it is unreadable
    (the window then falls back to NOT_MEASURED, which says so)."""
    try:
        table = json.loads(Path(TABLE_PATH if path is None else path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(table, dict) or table.get("format") != TABLE_FORMAT or table.get("version") != TABLE_VERSION:
        return {}
    models = table.get("models")
    return {name: entry for name, entry in models.items() if _valid(entry)} if isinstance(models, dict) else {}


def _valid(entry) -> bool:
    return (isinstance(entry, dict) and entry.get("mode") in TRANSITION_MODES
            and isinstance(entry.get("debias"), bool) and isinstance(entry.get("steps"), int)
            and entry["steps"] >= 0 and isinstance(entry.get("family"), str))


def chain_default(model_path: str | Path | None, family: str, table: dict[str, dict] | None = None) -> ChainDefault:
    """The setting to open `model_path` (of registry family `family`) on."""
    table = load_table() if table is None else table
    name = Path(model_path).name if model_path is not None else None
    if name in table:
        return _from_entry(table[name], f"measured on this model ({name}, training faces)")
    for other, entry in sorted(table.items()):
        if entry["family"] == family:
            return _from_entry(entry, f"measured on the bundled {other} (same family, not this model)")
    return NOT_MEASURED


def _from_entry(entry: dict, source: str) -> ChainDefault:
    return ChainDefault(mode=entry["mode"], debias=entry["debias"], pause_after=entry["steps"],
                        improves=bool(entry.get("improves")), score=entry.get("score"),
                        score_step0=entry.get("score_step0"), source=source)


__all__ = ["NOT_MEASURED", "TABLE_FORMAT", "TABLE_PATH", "TABLE_VERSION", "ChainDefault", "chain_default", "load_table"]
