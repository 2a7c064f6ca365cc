"""``semitensor demo`` and its settings (semitensor.cli.demo)."""

import sys

import pytest

from semitensor.cli import demo
from semitensor.formats import format_class, registered_formats

from .conftest import assert_input_error, run


def test_settings_cover_every_format():
    assert set(demo.DEMO_RANKS) == set(registered_formats()) == set(demo.FIT_FUNCTIONS)
    for name, levels in demo.DEMO_RANKS.items():
        assert format_class(name).twin in demo.TWIN_TITLES
        assert len(levels) == 3
    assert demo.n_fits(1) == 6 and demo.n_fits(3) == 18


def test_matched_ranks_stay_within_budget():
    shape = (64, 64, 200)
    for twin, like in (("tucker", [16, 16, 8]), ("tt", [8, 8]), ("tr", [4, 8, 8])):
        ranks = demo.matched_ranks(twin, shape, like, 3000)
        params = demo._TWINS[twin][0](shape, ranks)
        assert params <= 3000
        bigger = demo.matched_ranks(twin, shape, like, 30000)
        assert demo._TWINS[twin][0](shape, bigger) > params


def test_demo_small(capsys):
    code, out, _ = run(capsys, "demo", "--levels", "1", "--size", "16", "--quiet")
    assert code == 0
    assert "Indian Pines" in out
    for method in ("STTu", "TensorLy Tucker", "STT", "TensorLy TT", "STR", "TensorLy TR"):
        assert f"\n{method} " in out
    assert "6 fits in" in out


def test_demo_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "plot.png"
    code, out, _ = run(capsys, "demo", "--levels", "1", "--size", "8", "-q", "--plot", png)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    result = run(capsys, "demo", "--plot", tmp_path / "p.png")
    assert_input_error(result, "--plot needs matplotlib: pip install 'semitensor[plot]'")


def test_demo_bad_size(capsys):
    assert_input_error(run(capsys, "demo", "--size", "10"), "--size must be a multiple of 4")


@pytest.mark.parametrize(
    "name, match",
    [
        ("d", "is a directory; give the path of a file"),
        ("missing/p.png", "does not exist"),
        ("p.xyz", "must end in a format matplotlib writes"),
        ("plot", "got no suffix"),
    ],
)
def test_demo_checks_the_plot_path_before_running(name, match, capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    (tmp_path / "d").mkdir()

    def must_not_run(*args, **kwargs):
        raise AssertionError("the demo ran before --plot was checked")

    monkeypatch.setattr(demo, "run_demo", must_not_run)
    monkeypatch.setattr(demo, "load_demo_data", must_not_run)
    assert_input_error(run(capsys, "demo", "-q", "--plot", tmp_path / name), match)
