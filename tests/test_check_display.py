"""How a check_layer result shows itself: a one-line repr, a table in Jupyter, a plot that blames the right function."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import check_layer
from layers import affine_backward, affine_forward


def _inputs():
    rng = np.random.default_rng(3)
    return [rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)]


def backward_with_wrong_dw(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, 1.5 * dw, db


def test_repr_is_one_short_line_naming_the_backward_and_the_wrong_gradient():
    check = check_layer(affine_forward, backward_with_wrong_dw, _inputs())
    text = repr(check)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("<LayerCheck backward_with_wrong_dw [float64]: FAIL")
    assert "dw FAIL" in text and "dx pass" in text and "db pass" in text


def test_repr_of_a_passing_pair_names_both_functions():
    text = repr(check_layer(affine_forward, affine_backward, _inputs()))
    assert text.startswith("<LayerCheck affine_forward / affine_backward [float64]: pass"), text


def test_html_table_has_a_row_per_gradient_with_status_and_diagnosis():
    check = check_layer(affine_forward, backward_with_wrong_dw, _inputs())
    page = check._repr_html_()
    assert page.count("<tr><td>d") == 3
    assert "<td>dw</td><td><b style=\"color:#cf222e\">FAIL</b>" in page
    assert "<td>dx</td><td><b style=\"color:#1a7f37\">pass</b>" in page
    assert check["w"].diagnosis and check["w"].diagnosis.split()[0] in page


def test_html_escapes_what_the_layer_said():
    def forward(x):
        raise ValueError("<script>alert(1)</script>")

    page = check_layer(forward, lambda d, c: d, [np.ones(3)])._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_plot_title_blames_the_backward_when_a_gradient_is_wrong():
    pytest.importorskip("matplotlib")
    fig = check_layer(affine_forward, backward_with_wrong_dw, _inputs()).plot()
    assert fig._suptitle.get_text() == "backward_with_wrong_dw [float64]: FAIL"


def test_module_report_shows_a_verdict_line_and_a_table(tmp_path):
    from gradient_check import check_module

    student = tmp_path / "mine.py"
    student.write_text("import numpy as np\n\n\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n\n\n"
                       "def relu_backward(dout, cache):\n    return 2 * dout * (cache > 0)\n")
    result = check_module(str(student), only="relu")
    text = repr(result)
    assert text.startswith("<ModuleReport FAILED: ") and "worker process" in text and "\n" not in text, text
    page = result._repr_html_()
    assert page.count("<tr><td>relu_forward</td>") == len(result.rows) >= 2
    assert '<b style="color:#cf222e">FAIL</b>' in page and "factor" in page
