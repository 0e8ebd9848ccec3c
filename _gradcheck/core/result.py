"""Results of a layer check: one ``InputResult`` per differentiable input, gathered in a ``LayerCheck``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

__all__ = ["InputResult", "LayerCheck", "PASS", "FAIL", "NOT_CHECKABLE", "ERROR"]

PASS, FAIL, NOT_CHECKABLE, ERROR = "pass", "FAIL", "not checkable", "ERROR"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2e}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class InputResult:
    """The comparison of analytic and numeric gradients for one input.

    Attributes
    ----------
    name : str
        The input's name (``x``, ``w``, ...).
    shape : tuple of int
    mode : str
        ``'full'`` (every element) or ``'directional'`` (random directions).
    passed : bool
    max_rel_error : float
        ``max_i |a_i - n_i| / max(|a_i| + |n_i|, floor_i)`` over the compared elements (or directions).
    worst_index : tuple of int or None
        Index of the worst element (None in directional mode).
    analytic, numeric : float or None
        The two values at ``worst_index`` (directional mode: the two directional derivatives).
    kinks_excluded : int
        Elements within h of a kink, left out of the comparison (directional mode: directions
        that crossed a kink in every retry).
    diagnosis : str
        One line when the check fails, else ``''``.
    warnings : list of str
    h : float
        The finite-difference step used.
    analytic_grad, numeric_grad : ndarray or None
        Full arrays (float64) in full mode, for ``LayerCheck.plot``.
    """

    name: str
    shape: tuple
    mode: str = "full"
    passed: bool = False
    max_rel_error: float | None = None
    worst_index: tuple | None = None
    analytic: float | None = None
    numeric: float | None = None
    kinks_excluded: int = 0
    diagnosis: str = ""
    warnings: list = field(default_factory=list)
    h: float | None = None
    analytic_grad: np.ndarray | None = field(default=None, repr=False)
    numeric_grad: np.ndarray | None = field(default=None, repr=False)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return PASS if self.passed else FAIL

    def to_dict(self) -> dict:
        return {
            "input": self.name,
            "shape": list(self.shape),
            "mode": self.mode,
            "status": "pass" if self.passed else "fail",
            "max_rel_error": self.max_rel_error,
            "worst_index": None if self.worst_index is None else [int(i) for i in self.worst_index],
            "analytic": self.analytic,
            "numeric": self.numeric,
            "kinks_excluded": self.kinks_excluded,
            "diagnosis": self.diagnosis,
            "warnings": list(self.warnings),
            "h": self.h,
            "time_s": round(self.seconds, 4),
        }


@dataclass(repr=False)
class LayerCheck:
    """Everything :func:`gradient_check.check_layer` found about one forward/backward pair.

    ``status`` is ``'pass'``, ``'FAIL'`` (a gradient is wrong, or an input/dout/cache was
    mutated, or backward is not deterministic), ``'not checkable'`` (the forward is random and
    cannot be seeded) or ``'ERROR'`` (the layer raised or returned the wrong kind of object).
    ``bool(check)`` is True only for ``'pass'``. In a notebook the check shows itself as a table
    (``_repr_html_``); ``repr`` is one line, ``report()`` the full text.
    """

    name: str
    dtype: str
    mode: str
    rtol: float
    rule: str
    inputs: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    error: str = ""
    not_checkable: str = ""
    seconds: float = 0.0
    backward: str = ""

    @property
    def status(self) -> str:
        if self.error:
            return ERROR
        if self.not_checkable:
            return NOT_CHECKABLE
        if self.problems or not all(r.passed for r in self.inputs):
            return FAIL
        return PASS

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def __bool__(self) -> bool:
        return self.passed

    def __getitem__(self, name: str) -> InputResult:
        for r in self.inputs:
            if r.name == name:
                return r
        raise KeyError(f"no input named {name!r}; inputs are {[r.name for r in self.inputs]}")

    @property
    def max_rel_error(self) -> float | None:
        errs = [r.max_rel_error for r in self.inputs if r.max_rel_error is not None]
        return max(errs) if errs else None

    def report(self) -> str:
        """Return a human-readable summary: one line per input, then problems and warnings."""
        lines = [f"{self.blamed} [{self.dtype}, {self.mode}]: {self.status}", f"  rule: {self.rule}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.not_checkable:
            lines.append(f"  not checkable: {self.not_checkable}")
        for r in self.inputs:
            where = "" if r.worst_index is None else f" at {tuple(int(i) for i in r.worst_index)}"
            vals = "" if r.analytic is None else f" (analytic {r.analytic:.6g}, numeric {r.numeric:.6g})"
            what = "random direction(s) crossing a kink skipped" if r.mode == "directional" else \
                "element(s) within h of a kink excluded"
            kinks = f", {r.kinks_excluded} {what}" if r.kinks_excluded else ""
            lines.append(f"  {r.name:8s} {r.status:5s} max rel error {_fmt(r.max_rel_error)}{where}{vals}{kinks}")
            if r.diagnosis:
                lines.append(f"           diagnosis: {r.diagnosis}")
            for w in r.warnings:
                lines.append(f"           warning: {w}")
        for p in self.problems:
            lines.append(f"  problem: {p}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    @property
    def blamed(self) -> str:
        """The function a failure points at: the backward when a gradient is wrong, else the pair."""
        wrong_gradient = any(not r.passed for r in self.inputs) and not self.error
        if wrong_gradient and self.backward:
            return self.backward
        return f"{self.name} / {self.backward}" if self.backward else self.name

    def _input_summary(self, r: InputResult) -> str:
        return f"d{r.name} {r.status} {_fmt(r.max_rel_error)}"

    def __repr__(self) -> str:
        parts = ", ".join(self._input_summary(r) for r in self.inputs)
        extra = [f"{len(self.problems)} problem(s)"] if self.problems else []
        if self.error:
            extra.append("error: " + _shorten(self.error, 80))
        if self.not_checkable:
            extra.append("not checkable: " + _shorten(self.not_checkable, 80))
        details = "; ".join(x for x in [parts, *extra] if x)
        return f"<LayerCheck {self.blamed} [{self.dtype}]: {self.status}{' - ' + details if details else ''}>"

    def _repr_html_(self) -> str:
        colour = {PASS: "#1a7f37", FAIL: "#cf222e", ERROR: "#cf222e", NOT_CHECKABLE: "#9a6700"}
        esc = html.escape

        def badge(status):
            return f'<b style="color:{colour.get(status, "inherit")}">{esc(status)}</b>'

        rows = []
        for r in self.inputs:
            where = "" if r.worst_index is None else esc(str(tuple(int(i) for i in r.worst_index)))
            vals = "" if r.analytic is None else f"{r.analytic:.6g} / {r.numeric:.6g}"
            notes = [esc(r.diagnosis)] if r.diagnosis else []
            notes += [f"warning: {esc(w)}" for w in r.warnings]
            if r.kinks_excluded:
                notes.append(f"{r.kinks_excluded} near a kink, excluded")
            rows.append(f"<tr><td>d{esc(r.name)}</td><td>{badge(r.status)}</td><td>{_fmt(r.max_rel_error)}</td>"
                        f"<td>{where}</td><td>{vals}</td><td style=\"text-align:left\">{'<br>'.join(notes)}</td></tr>")
        lines = [f"<p><code>{esc(self.blamed)}</code> [{esc(self.dtype)}, {esc(self.mode)}]: "
                 f"{badge(self.status)}<br><small>{esc(self.rule)}</small></p>"]
        if rows:
            lines.append("<table><thead><tr><th>gradient</th><th>status</th><th>max rel error</th><th>worst at</th>"
                         "<th>analytic / numeric</th><th>diagnosis</th></tr></thead><tbody>"
                         + "".join(rows) + "</tbody></table>")
        for label, text in [("error", self.error), ("not checkable", self.not_checkable)]:
            if text:
                lines.append(f"<p>{badge(ERROR if label == 'error' else NOT_CHECKABLE)} {esc(text)}</p>")
        lines += [f"<p>problem: {esc(p)}</p>" for p in self.problems]
        lines += [f"<p>warning: {esc(w)}</p>" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "layer": self.name,
            "dtype": self.dtype,
            "mode": self.mode,
            "status": {PASS: "pass", FAIL: "fail", NOT_CHECKABLE: "not_checkable", ERROR: "error"}[self.status],
            "rule": self.rule,
            "rtol": self.rtol,
            "inputs": [r.to_dict() for r in self.inputs],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "error": self.error,
            "not_checkable": self.not_checkable,
            "time_s": round(self.seconds, 4),
        }

    def plot(self, path=None):
        """Draw where the error lives; return a matplotlib ``Figure`` (saved to ``path`` if given).

        One column per input checked in full mode. 4-D inputs get a (sample, channel) heat map
        (filter, channel for ``w``) of ``max |analytic - numeric|`` over the spatial axes, plus the
        spatial map of the worst (sample, channel); 2-D inputs an image of ``|analytic - numeric|``;
        others a line plot of the flattened error and of both gradients. No pyplot: the figure is
        rendered by the Agg canvas, so this works without a display.
        """
        from matplotlib.figure import Figure

        full = [r for r in self.inputs if r.analytic_grad is not None and r.numeric_grad is not None]
        ncol = max(1, len(full))
        fig = Figure(figsize=(3.6 * ncol, 6.5), layout="constrained")
        fig.suptitle(f"{self.blamed} [{self.dtype}]: {self.status}", fontsize=10)
        if not full:
            ax = fig.add_subplot(1, 1, 1)
            ax.axis("off")
            ax.text(0.5, 0.5, "no full-mode gradients to draw\n" + (self.error or self.not_checkable or ""),
                    ha="center", va="center", wrap=True)
        for k, r in enumerate(full):
            top, bottom = fig.add_subplot(2, ncol, k + 1), fig.add_subplot(2, ncol, ncol + k + 1)
            err = np.abs(np.asarray(r.analytic_grad, dtype=np.float64) - r.numeric_grad)
            draw = {4: _plot_images, 2: _plot_matrix}.get(err.ndim, _plot_flat)
            draw(fig, top, bottom, r, err, f"d{r.name} {r.status}: |analytic - numeric|")
        if path is not None:
            fig.savefig(path, dpi=80)
        return fig


def _ticks(ax, nrows, ncols):
    if ncols <= 16:
        ax.set_xticks(range(ncols))
    if nrows <= 16:
        ax.set_yticks(range(nrows))


def _plot_images(fig, top, bottom, r, err, title):
    """4-D: (sample or filter, channel) map of the largest error, and the worst channel's spatial map."""
    per_nc = err.max(axis=(2, 3))
    im = top.imshow(per_nc, cmap="magma", aspect="auto")
    rows_name = "filter" if r.name in ("w", "dw", "W") else "sample"
    top.set_xlabel("channel")
    top.set_ylabel(rows_name)
    top.set_title(title + "\nmax over (H, W)", fontsize=8)
    _ticks(top, *per_nc.shape)
    fig.colorbar(im, ax=top)
    n, c = np.unravel_index(int(np.argmax(per_nc)), per_nc.shape)
    im2 = bottom.imshow(err[n, c], cmap="magma")
    _ticks(bottom, *err.shape[2:])
    bottom.set_title(f"{rows_name} {n}, channel {c} (rows x columns)", fontsize=8)
    fig.colorbar(im2, ax=bottom)
    if r.worst_index is not None and not r.passed and tuple(r.worst_index[:2]) == (n, c):
        bottom.plot(r.worst_index[3], r.worst_index[2], "c+", markersize=12)


def _plot_matrix(fig, top, bottom, r, err, title):
    """2-D: the error as an image, and its largest value per row."""
    im = top.imshow(err, cmap="magma", aspect="auto")
    top.set_title(title, fontsize=8)
    _ticks(top, *err.shape)
    fig.colorbar(im, ax=top)
    bottom.plot(err.max(axis=1), marker="o")
    bottom.set_xlabel("row")
    bottom.set_title("max over columns", fontsize=8)


def _plot_flat(fig, top, bottom, r, err, title):
    """Any other rank: the flattened error, and both gradients."""
    top.plot(err.ravel(), marker=".")
    top.set_title(title, fontsize=8)
    top.set_xlabel("flat index")
    bottom.plot(np.asarray(r.analytic_grad).ravel(), label="analytic")
    bottom.plot(r.numeric_grad.ravel(), "--", label="numeric")
    bottom.set_xlabel("flat index")
    bottom.legend(fontsize=7)
