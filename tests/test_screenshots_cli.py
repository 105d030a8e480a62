"""The screenshot tool's command line: --help prints the usage and an unknown option is refused, neither
creating a folder (it once took "--help" for the output folder and filled it with screenshots); the
scratch folder of a run is removed afterwards."""

import tempfile

from latentlab.ui import screenshots


def test_help_prints_the_usage_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert screenshots.main(["--help"]) == 0
    assert "python -m latentlab.ui.screenshots OUT_DIR" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_option_is_named_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "shots"
    assert screenshots.main(["--scal", str(out)]) == 2
    assert "unknown option '--scal'" in capsys.readouterr().err
    assert not out.exists()


def test_the_scratch_folder_is_removed_after_the_shots(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    seen = {}

    def take_shots(app, out, scratch, argv, modes, gif):
        (scratch / "run").mkdir()
        (scratch / "run" / "model.ckpt").write_bytes(b"x" * 1000)  # as the training shot leaves a run behind
        seen.update(scratch=scratch, modes=modes, out=out)
        return 0

    monkeypatch.setattr(screenshots, "take_shots", take_shots)
    assert screenshots.main(["--session", str(tmp_path / "shots")]) == 0
    assert seen["modes"] == {"--session"} and seen["out"] == tmp_path / "shots"
    assert seen["scratch"].parent == tmp_path / "tmp" and not seen["scratch"].exists()
    assert list((tmp_path / "tmp").iterdir()) == []
