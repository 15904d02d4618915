"""Every plotting function draws without error or warning, and returns what it drew."""

import matplotlib

matplotlib.use("Agg")  # before pyplot: no screen in tests

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlib import plotting as P
from nnlib.datasets import xor_cloud
from nnlib.metrics import confusion_matrix
from nnlib.networks import TwoLayerNet
from nnlib.training import train


@pytest.fixture(autouse=True)
def _close_figures():
    P.use_style()
    yield
    plt.close("all")


def test_history_and_curves():
    x, t = xor_cloud(50, seed=0)
    net = TwoLayerNet(2, 5, 2, seed=0)
    h = train(net, x, t, lr=0.5, epochs=3, batch_size=10, x_test=x, t_test=t, progress=False)
    assert len(P.plot_history(h, smooth=3).axes) == 2
    assert P.plot_loss(h.loss, log=True, label="loss").get_yscale() == "log"
    ax = P.plot_decision_boundary(net.predict, x, t, resolution=30)
    assert ax.get_xlabel() == "$x_0$"
    ax = P.plot_decision_boundary(lambda p: net.predict(p)[:, 1], x, t, resolution=30)


def test_contour_images_grid_confusion():
    ax = P.plot_contour(
        lambda a, b: a**2 + b**2,
        paths={"lr 0.1": np.array([[-3.0, 4.0], [-2.4, 3.2]])},
        gradient=lambda a, b: (2 * a, 2 * b),
    )
    assert len(ax.get_lines()) == 1
    fig = P.plot_image_grid(np.random.default_rng(0).random((12, 784)), titles=list("abcdefghijkl"))
    assert len(fig.axes) == 20
    weights = np.random.default_rng(0).standard_normal((784, 30))
    assert len(P.plot_weights(weights).axes) == 21, "20 images and the shared colour bar"
    fig = P.plot_lr_grid({0.1: [1.0, 0.5], 10: [1.0, np.inf]}, ncols=2)
    assert "diverged" in fig.axes[1].get_title()
    cm = confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    np.testing.assert_array_equal(cm, [[1, 0], [1, 1]])
    assert P.plot_confusion_matrix(cm).get_xlabel() == "predicted"


def test_decision_boundary_has_a_class_legend():
    x, t = xor_cloud(40, seed=0)
    ax = P.plot_decision_boundary(lambda p: (p[:, 0] * p[:, 1] < 0).astype(float), x, t)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    ax = P.plot_decision_boundary(
        lambda p: p[:, 0] > 0, x, t, class_names=["same signs", "different signs"]
    )
    assert ax.get_legend().get_texts()[1].get_text() == "different signs"
    assert P.plot_decision_boundary(lambda p: p[:, 0] > 0, x, t, legend=False).get_legend() is None
    with pytest.raises(ValueError, match="class_names"):
        P.plot_decision_boundary(lambda p: p[:, 0] > 0, x, t, class_names=["only one"])


def test_gradient_arrows_are_bold():
    ax = P.plot_contour(lambda a, b: a**2 + b**2, gradient=lambda a, b: (2 * a, 2 * b))
    quiver = ax.collections[-1]
    assert quiver.get_alpha() is None  # opaque, not the faint 0.8 of before
    assert quiver.width >= 0.005
    assert np.allclose(quiver.get_facecolor()[0][:3], matplotlib.colors.to_rgb(P.ARROW_COLOR))
    ax = P.plot_contour(lambda a, b: a**2 + b**2, gradient=lambda a, b: (a, b), arrow_scale=50)
    assert ax.collections[-1].scale == 50


def test_image_grids_share_one_colour_scale():
    rng = np.random.default_rng(0)
    images = rng.random((6, 16)) * np.arange(1, 7)[:, None]  # image i spans [0, i + 1)
    fig = P.plot_image_grid(images, ncols=3, shape=(4, 4))
    limits = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
    assert len(limits) == 1 and limits.pop() == (images.min(), images.max())
    W1 = rng.standard_normal((16, 5)) * np.array([0.1, 1, 3, 0.5, 2])
    fig = P.plot_weights(W1, n=5, shape=(4, 4))
    limits = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
    vmax = np.abs(W1).max()
    assert limits == {(-vmax, vmax)}, "every weight image on one scale, centred on 0"
    assert len(fig.axes) == 11, "10 grid cells and the colour bar"
