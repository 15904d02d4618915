"""Convolution and max pooling: against their definitions, gradient-checked, and bad shapes.

The definition of a convolution layer (a cross-correlation, as in every framework) is
the four nested loops of ``conv_loops``; ``layers.conv_forward`` computes it with
im2col and matrix products and must agree with it to round-off.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import layers
from nnlib.gradients import numerical_gradient, relative_error
from nnlib.networks import ConvNet
from nnlib.optimizers import Adam
from nnlib.training import train
from tests.test_layers import check_layer


def conv_loops(x, W, b, stride, pad):
    """out[n, f, i, j] = b[f] + Σ W[f] ⊙ (the window of the padded x at (i·s, j·s))."""
    N, _, H, Wd = x.shape
    F, _, KH, KW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = (H + 2 * pad - KH) // stride + 1, (Wd + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    window = xp[n, :, i * stride : i * stride + KH, j * stride : j * stride + KW]
                    out[n, f, i, j] = np.sum(window * W[f]) + b[f]
    return out


# (x shape, W shape): every one tiles with strides 1 and 2 and paddings 0 and 1.
SHAPES = [
    ((2, 3, 7, 7), (4, 3, 3, 3)),
    ((1, 2, 6, 8), (3, 2, 2, 4)),
    ((3, 1, 5, 9), (2, 1, 1, 3)),
    ((2, 4, 9, 5), (5, 4, 5, 3)),
]


def random_conv(x_shape, w_shape, seed=0):
    gen = np.random.default_rng(seed)
    return (
        gen.standard_normal(x_shape),
        gen.standard_normal(w_shape),
        gen.standard_normal(w_shape[0]),
    )


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize(("x_shape", "w_shape"), SHAPES)
def test_conv_forward_is_the_nested_loop_definition(x_shape, w_shape, stride, pad):
    x, W, b = random_conv(x_shape, w_shape)
    out, _ = layers.conv_forward(x, W, b, stride=stride, pad=pad)
    expected = conv_loops(x, W, b, stride, pad)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_conv_forward_on_random_shapes(seed):
    # Shapes drawn at random (seeded), sized so that strides 1 and 2 both tile.
    gen = np.random.default_rng(100 + seed)
    N, C, F = (int(v) for v in gen.integers(1, 4, size=3))
    KH, KW = (int(v) for v in gen.integers(1, 5, size=2))
    for stride in (1, 2):
        for pad in (0, 1):
            # H + 2·pad − KH = 2k + 2·pad is even: both strides tile.
            H, W = KH + 2 * int(gen.integers(0, 4)), KW + 2 * int(gen.integers(0, 4))
            x = gen.standard_normal((N, C, H, W))
            Wt, b = gen.standard_normal((F, C, KH, KW)), gen.standard_normal(F)
            out, _ = layers.conv_forward(x, Wt, b, stride=stride, pad=pad)
            np.testing.assert_allclose(
                out, conv_loops(x, Wt, b, stride, pad), rtol=1e-12, atol=1e-12
            )


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("stride", [1, 2])
def test_col2im_is_the_adjoint_of_im2col(stride, pad):
    # <im2col(x), c> = <x, col2im(c)> for all x and c: col2im is im2col's transpose.
    gen = np.random.default_rng(4)
    x = gen.standard_normal((2, 3, 7, 7))
    cols = layers.im2col(x, 3, 3, stride, pad)
    c = gen.standard_normal(cols.shape)
    back = layers.col2im(c, x.shape, 3, 3, stride, pad)
    assert back.shape == x.shape
    assert np.isclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_im2col_layout_is_the_documented_one():
    x = np.arange(2 * 2 * 4 * 4, dtype=float).reshape(2, 2, 4, 4)
    cols = layers.im2col(x, 2, 3, stride=1, pad=0)
    assert cols.shape == (2, 2 * 2 * 3, 3 * 2)
    # Column p = i·OW + j of image n is the window at (i, j), rows in (c, kh, kw) order.
    n, i, j = 1, 2, 1
    np.testing.assert_array_equal(cols[n, :, i * 2 + j], x[n, :, i : i + 2, j : j + 3].ravel())


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize(("x_shape", "w_shape"), SHAPES[:2])
def test_conv_gradients(x_shape, w_shape, stride, pad):
    x, W, b = random_conv(x_shape, w_shape, seed=5)

    def forward(x, W, b):
        return layers.conv_forward(x, W, b, stride=stride, pad=pad)

    check_layer(forward, [x, W, b], layers.conv_backward)


def test_conv_without_dx():
    x, W, b = random_conv(*SHAPES[0], seed=6)
    out, cache = layers.conv_forward(x, W, b, pad=1)
    dout = np.random.default_rng(7).standard_normal(out.shape)
    dx, dW, db = layers.conv_backward(dout, cache, need_dx=False)
    full = layers.conv_backward(dout, cache)
    assert dx is None
    np.testing.assert_array_equal(dW, full[1])
    np.testing.assert_array_equal(db, full[2])


def test_conv_keeps_float32():
    x, W, b = (a.astype(np.float32) for a in random_conv(*SHAPES[0]))
    out, cache = layers.conv_forward(x, W, b)
    grads = layers.conv_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


def pool_loops(x, size, stride):
    N, C, H, W = x.shape
    OH, OW = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[
                :, :, i * stride : i * stride + size, j * stride : j * stride + size
            ].max(axis=(2, 3))
    return out


@pytest.mark.parametrize(
    ("shape", "size", "stride"),
    [((2, 3, 6, 8), 2, 2), ((2, 2, 7, 5), 3, 2), ((1, 2, 5, 5), 2, 1), ((1, 1, 7, 7), 1, 3)],
)
def test_max_pool_forward_and_gradient(shape, size, stride):
    x = np.random.default_rng(8).standard_normal(shape)  # continuous: no ties
    out, _ = layers.max_pool_forward(x, size, stride)
    np.testing.assert_array_equal(out, pool_loops(x, size, stride))

    def forward(x):
        return layers.max_pool_forward(x, size, stride)

    check_layer(forward, [x], layers.max_pool_backward)


def test_max_pool_ties_send_the_gradient_to_the_top_left_maximum():
    # Every window holds its maximum twice or more; the first one in row-major order wins.
    x = np.array(
        [
            [1.0, 1.0, 0.0, 5.0],
            [1.0, 1.0, 5.0, 5.0],
            [2.0, 0.0, 3.0, 0.0],
            [0.0, 2.0, 0.0, 3.0],
        ]
    )[None, None]
    out, cache = layers.max_pool_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[1.0, 5.0], [2.0, 3.0]])
    dx = layers.max_pool_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
    expected = np.array(
        [
            [10.0, 0.0, 0.0, 20.0],
            [0.0, 0.0, 0.0, 0.0],
            [30.0, 0.0, 40.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(dx[0, 0], expected)
    # And the same on every run, whatever the dtype.
    out32, cache32 = layers.max_pool_forward(x.astype(np.float32))
    dx32 = layers.max_pool_backward(np.ones_like(out32), cache32)
    np.testing.assert_array_equal(dx32[0, 0] != 0, expected != 0)


def test_convnet_gradients_end_to_end():
    net = ConvNet((2, 8, 8), convs=((3, 3, 1), (4, 3, 1)), hidden=6, n_classes=3, seed=1)
    gen = np.random.default_rng(9)
    x, t = gen.standard_normal((4, 2, 8, 8)), np.array([0, 2, 1, 2])
    _, grads = net.loss_and_gradient(x, t)
    assert grads.keys() == net.params.keys()
    for key, p in net.params.items():

        def loss(_: np.ndarray) -> float:
            return net.loss(x, t)

        err = relative_error(grads[key], numerical_gradient(loss, p))
        assert err < 1e-7, f"{key}: relative error {err:.2e}"


def test_convnet_pool_then_relu_is_relu_then_pool():
    # The two orders are the same function: ReLU is monotone, so it commutes with max.
    z = np.random.default_rng(10).standard_normal((3, 4, 6, 6))
    a, _ = layers.relu_forward(layers.max_pool_forward(z)[0])
    b, _ = layers.max_pool_forward(layers.relu_forward(z)[0])
    np.testing.assert_array_equal(a, b)


def test_convnet_learns_with_train_in_float32():
    gen = np.random.default_rng(11)
    # Two classes: a bright vertical bar or a bright horizontal bar, somewhere in the image.
    x = 0.1 * gen.standard_normal((64, 1, 8, 8)).astype(np.float32)
    t = np.arange(64) % 2
    for n in range(64):
        k = gen.integers(1, 7)
        if t[n]:
            x[n, 0, :, k] += 1
        else:
            x[n, 0, k, :] += 1
    net = ConvNet((1, 8, 8), convs=((4, 3, 1),), hidden=8, n_classes=2, dtype=np.float32)
    before = net.loss(x, t)
    hist = train(net, x, t, optimizer=Adam(lr=0.01), epochs=10, batch_size=16, progress=False)
    assert net.loss(x, t) < before / 4
    assert net.accuracy(x, t) == 1.0
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert len(hist.loss) == 40
    # Flattened images are accepted too, and give the same answer.
    np.testing.assert_array_equal(net.predict(x.reshape(64, -1)), net.predict(x))


def test_conv_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(
        ValueError, match=r"x \(1, 1, 4, 4\).*5x5 kernel.*larger than the padded input of 4"
    ):
        layers.conv_forward(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 5, 5)), np.zeros(2))
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        layers.max_pool_forward(np.zeros((1, 1, 1, 1)), 2, 2)


def test_conv_rejects_a_stride_that_does_not_tile():
    with pytest.raises(ValueError, match=r"x \(1, 1, 6, 6\).*stride 2.*does not tile"):
        layers.conv_forward(np.zeros((1, 1, 6, 6)), np.zeros((2, 1, 3, 3)), np.zeros(2), stride=2)
    with pytest.raises(ValueError, match=r"x \(1, 3, 5, 5\).*does not tile"):
        layers.max_pool_forward(np.zeros((1, 3, 5, 5)), 2, 2)
    with pytest.raises(ValueError, match="does not tile"):
        ConvNet((1, 28, 28), convs=((8, 4, 0),))  # 25 x 25 feature maps: a 2x2 pool does not fit


def test_conv_rejects_channels_that_disagree():
    with pytest.raises(ValueError, match=r"x \(2, 3, 5, 5\) and W \(4, 2, 3, 3\)"):
        layers.conv_forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"b has shape \(3,\)"):
        layers.conv_forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        layers.conv_forward(np.zeros((3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4))


def test_backward_rejects_a_dout_of_the_wrong_shape():
    x, W, b = random_conv(*SHAPES[0])
    _, cache = layers.conv_forward(x, W, b)
    with pytest.raises(ValueError, match="conv_backward"):
        layers.conv_backward(np.zeros((2, 4, 4, 4)), cache)
    _, cache = layers.max_pool_forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="max_pool_backward"):
        layers.max_pool_backward(np.zeros((1, 1, 3, 3)), cache)


def test_convnet_rejects_images_of_the_wrong_shape():
    net = ConvNet((1, 8, 8), convs=((2, 3, 1),), hidden=4, n_classes=2)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\).*\(3, 1, 9, 9\)"):
        net.predict(np.zeros((3, 1, 9, 9)))
