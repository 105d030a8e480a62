"""The list-argument types the benches share (latentlab.bench.arguments)."""

import argparse

import pytest

from latentlab.bench.arguments import choice_list, non_negative_ints


def test_choice_list_keeps_order_strips_blanks_and_names_the_choices():
    models = choice_list(("pixelcnn", "gated_pixelcnn", "row_lstm"), "models")
    assert models("row_lstm,pixelcnn") == ["row_lstm", "pixelcnn"]
    assert models(" pixelcnn , gated_pixelcnn,") == ["pixelcnn", "gated_pixelcnn"]
    for bad in ("pixelcnn,wavenet", "", ","):
        with pytest.raises(argparse.ArgumentTypeError, match="models must be among pixelcnn, gated_pixelcnn, row_lstm"):
            models(bad)


def test_non_negative_ints():
    assert non_negative_ints("0,1,2,5,10") == [0, 1, 2, 5, 10]
    assert non_negative_ints("3, 1") == [3, 1]
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated integers"):
        non_negative_ints("1,two")
    for bad in ("1,-2", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="non-negative"):
            non_negative_ints(bad)


def test_the_benches_use_them():
    from latentlab.bench import chain, pixel_models, pixels

    for module in (chain, pixel_models, pixels):
        assert "choice_list" in vars(module)
    with pytest.raises(SystemExit):
        pixels.main(["--models", "pixelcnn,wavenet"])


def test_number_list_takes_finite_numbers_only():
    import argparse

    from latentlab.bench.arguments import number_list

    assert number_list("0.5, 1,2") == [0.5, 1.0, 2.0]
    for bad in ("", "a,1", "nan", "1,inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            number_list(bad)


def test_positive_int_takes_counts_of_one_or_more():
    from latentlab.bench.arguments import positive_int

    assert positive_int("30") == 30
    for bad, reason in (("0", "at least 1"), ("-3", "at least 1"), ("ten", "an integer"), ("1.5", "an integer")):
        with pytest.raises(argparse.ArgumentTypeError, match=reason):
            positive_int(bad)


def test_the_drag_bench_refuses_an_empty_block_before_opening_a_window(capsys):
    from latentlab.bench import drag

    for option in ("--block", "--moves"):
        with pytest.raises(SystemExit):
            drag.main([option, "0"])
        assert "at least 1" in capsys.readouterr().err
