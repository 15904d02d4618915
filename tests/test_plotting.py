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
    assert len(P.plot_weights(np.random.default_rng(0).standard_normal((784, 30))).axes) == 20
    fig = P.plot_lr_grid({0.1: [1.0, 0.5], 10: [1.0, np.inf]}, ncols=2)
    assert "diverged" in fig.axes[1].get_title()
    cm = confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    np.testing.assert_array_equal(cm, [[1, 0], [1, 1]])
    assert P.plot_confusion_matrix(cm).get_xlabel() == "predicted"
