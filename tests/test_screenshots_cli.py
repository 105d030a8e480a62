"""The screenshot tool's command line: --help prints the usage and an unknown option is refused, neither
creating a folder (it once took "--help" for the output folder and filled it with screenshots)."""

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
