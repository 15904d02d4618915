"""The course's figures, in one style: large labels for a projector, colour-blind-safe colours.

Every function draws into ``ax`` when given (so figures can be combined) and
returns the Axes or Figure it drew, so a notebook can add to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

# Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# Gradient arrows: dark grey, so that they stand out on a projector and never share a colour
# with the descent paths drawn over them (those take COLORS in turn).
ARROW_COLOR = "#404040"

STYLE = {
    "figure.figsize": (7.0, 4.5),
    "figure.dpi": 80,
    "savefig.dpi": 100,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course style to every following figure (call once at the top of a notebook)."""
    mpl.rcParams.update(STYLE)


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] | None = None) -> plt.Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_loss(
    loss: Sequence[float],
    ax: plt.Axes | None = None,
    label: str | None = None,
    smooth: int = 0,
    log: bool = False,
) -> plt.Axes:
    """Loss against iteration; ``smooth`` > 1 overlays a moving average of that window."""
    ax = _axes(ax)
    loss = np.asarray(loss, dtype=float)
    line = ax.plot(loss, alpha=0.35 if smooth > 1 else 1.0, label=None if smooth > 1 else label)[0]
    if smooth > 1 and len(loss) >= smooth:
        avg = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth - 1, len(loss)), avg, color=line.get_color(), label=label)
    ax.set(xlabel="iteration", ylabel="loss", yscale="log" if log else "linear")
    if label:
        ax.legend()
    return ax


def plot_accuracy(
    train_acc: Sequence[float], test_acc: Sequence[float] = (), ax: plt.Axes | None = None
) -> plt.Axes:
    """Train (and test) accuracy against epoch, in percent."""
    ax = _axes(ax)
    epochs = np.arange(1, len(train_acc) + 1)
    ax.plot(epochs, 100 * np.asarray(train_acc), "o-", label="train")
    if len(test_acc):
        ax.plot(epochs, 100 * np.asarray(test_acc), "s--", label="test")
    ax.set(xlabel="epoch", ylabel="accuracy (%)")
    ax.legend()
    return ax


def plot_history(history, smooth: int = 50) -> plt.Figure:
    """Two panels from a ``training.History``: loss per iteration, accuracy per epoch."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    plot_loss(history.loss, ax=ax_loss, smooth=smooth, label="mini-batch loss")
    plot_accuracy(history.train_acc, history.test_acc, ax=ax_acc)
    fig.tight_layout()
    return fig


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    t: np.ndarray,
    ax: plt.Axes | None = None,
    resolution: int = 200,
    padding: float = 0.5,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
) -> plt.Axes:
    """Colour the plane by predicted class and scatter the points (x: (N, 2)) by true class.

    predict maps (M, 2) points to (M, C) scores (class = argmax) or to (M,) or
    (M, 1) probabilities of class 1 (class = p > 0.5). t: class indices or one-hot.
    The legend names each class's colour (``class_names``, default "class 0", "class 1", ...):
    the same colour marks a point's true class and the region the network assigns to it.
    """
    ax = _axes(ax)
    x = np.asarray(x)
    t = np.asarray(t)
    labels = np.argmax(t, axis=1) if t.ndim == 2 and t.shape[1] > 1 else t.reshape(-1)
    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    g0, g1 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    scores = np.asarray(predict(np.column_stack([g0.ravel(), g1.ravel()])))
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = np.argmax(scores, axis=1)
    else:
        classes = (scores.reshape(-1) > 0.5).astype(int)
    n_classes = int(max(classes.max(), labels.max())) + 1
    cmap = mpl.colors.ListedColormap(COLORS[:n_classes])
    ax.contourf(
        g0,
        g1,
        classes.reshape(g0.shape),
        levels=np.arange(n_classes + 1) - 0.5,
        cmap=cmap,
        alpha=0.25,
    )
    ax.scatter(
        x[:, 0],
        x[:, 1],
        c=labels,
        cmap=cmap,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        s=18,
        edgecolors="k",
        linewidths=0.4,
    )
    ax.set(xlabel="$x_0$", ylabel="$x_1$")
    if legend:
        names = (
            list(class_names)
            if class_names is not None
            else [f"class {c}" for c in range(n_classes)]
        )
        if len(names) < n_classes:
            raise ValueError(f"class_names has {len(names)} names for {n_classes} classes")
        handles = [
            mpl.lines.Line2D(
                [], [], marker="o", ls="", color=COLORS[c], markeredgecolor="k", label=names[c]
            )
            for c in range(n_classes)
        ]
        ax.legend(handles=handles, loc="upper right", framealpha=0.9, fontsize=10)
    return ax


def plot_contour(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    xlim: tuple[float, float] = (-4.5, 4.5),
    ylim: tuple[float, float] = (-4.5, 4.5),
    paths: Mapping[str, np.ndarray] | None = None,
    gradient: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    ax: plt.Axes | None = None,
    levels: int = 20,
    arrow_scale: float | None = None,
) -> plt.Axes:
    """Contour lines of f(x0, x1), optional gradient arrows, and descent paths drawn over them.

    f: vectorised, takes two grids and returns one. paths: label -> (steps, 2)
    points. gradient: (x0, x1) grids -> (∂f/∂x0, ∂f/∂x1) grids, drawn as arrows: dark grey,
    opaque and thick enough to read on a projector. arrow_scale: matplotlib's quiver
    ``scale`` (gradient units per plot width; larger draws shorter arrows); None lets
    matplotlib choose from the arrows' mean length.
    """
    ax = _axes(ax, figsize=(6.5, 6))
    g0, g1 = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    ax.contour(g0, g1, f(g0, g1), levels=levels, cmap="Greys", linewidths=0.8)
    if gradient is not None:
        a0, a1 = np.meshgrid(np.linspace(*xlim, 15), np.linspace(*ylim, 15))
        d0, d1 = gradient(a0, a1)
        ax.quiver(
            a0, a1, d0, d1, color=ARROW_COLOR, angles="xy", scale=arrow_scale, width=0.006, zorder=2
        )
    for label, path in (paths or {}).items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=3, label=label)
    ax.set(xlim=xlim, ylim=ylim, xlabel="$x_0$", ylabel="$x_1$", aspect="equal")
    if paths:
        ax.legend(loc="upper right")
    return ax


def plot_image_grid(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    shape: tuple[int, int] = (28, 28),
    cmap: str = "gray_r",
    symmetric: bool = False,
    colorbar: bool | None = None,
) -> plt.Figure:
    """Images (n, H·W) or (n, H, W) in a grid, each with an optional title.

    All images share one colour scale, so that the same shade means the same value in every
    panel (each panel scaled on its own would make a faint image look as strong as a bold one).
    symmetric: the scale is centred on 0 (for weights: red positive, blue negative).
    colorbar: draw the shared scale's colour bar (default: only when symmetric).
    """
    images = np.asarray(images).reshape(-1, *shape)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows), squeeze=False)
    if symmetric:
        vmax = float(np.abs(images).max()) if images.size else 0.0
        vmin, vmax, cmap = -(vmax or 1.0), vmax or 1.0, "RdBu_r"
    else:
        vmin, vmax = (float(images.min()), float(images.max())) if images.size else (0.0, 1.0)
    shown = None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        shown = ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.tight_layout()
    if (symmetric if colorbar is None else colorbar) and shown is not None:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02)
    return fig


def plot_weights(W1: np.ndarray, n: int = 20, shape: tuple[int, int] = (28, 28)) -> plt.Figure:
    """The first ``n`` hidden units' input weights, W1 (H·W, hidden), each as an image.

    One colour scale, centred on 0, for all of them (with its colour bar): a unit whose
    weights stay small looks pale next to one that learned a strong pattern.
    """
    return plot_image_grid(np.asarray(W1)[:, :n].T, ncols=10, shape=shape, symmetric=True)


def plot_lr_grid(
    curves: Mapping[float, Sequence[float]], ncols: int = 4, log: bool = True
) -> plt.Figure:
    """One small loss curve per learning rate; a curve that ended in NaN/inf is marked diverged."""
    nrows = -(-len(curves) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows), squeeze=False, sharex=True
    )
    for ax, (lr, loss) in zip(axes.flat, curves.items(), strict=False):
        loss = np.asarray(loss, dtype=float)
        finite = np.isfinite(loss)
        ax.plot(np.flatnonzero(finite), loss[finite])
        diverged = not finite.all()
        ax.set_title(
            f"lr = {lr:g}" + (" (diverged)" if diverged else ""),
            color=COLORS[3] if diverged else "k",
        )
        # A log axis only where the curve spans more than a decade: below that it has
        # no major ticks left and the minor labels clutter the panel.
        positive = loss[finite]
        if log and positive.size and positive.min() > 0 and positive.max() > 10 * positive.min():
            ax.set_yscale("log")
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str] | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """A confusion matrix (true class down, predicted across) with its counts written in."""
    ax = _axes(ax, figsize=(7, 6))
    cm = np.asarray(cm)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    ax.imshow(cm, cmap="Blues")
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    ax.set(
        xticks=range(len(cm)),
        yticks=range(len(cm)),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="true",
    )
    ax.grid(False)
    return ax
