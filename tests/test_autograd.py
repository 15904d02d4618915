"""nnlib.autograd: every backward rule against central differences, in float64.

The bar is a relative error below 1e-7 (``nnlib.gradients.relative_error``), on
single operations, on random graphs where values are used several times
(fan-out), on broadcasting, and on shapes with a dimension of 1.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from nnlib.autograd import Tensor, Value, topological_order, zero_grad
from nnlib.datasets import spirals
from nnlib.gradients import numerical_gradient, relative_error
from nnlib.losses import softmax_cross_entropy
from nnlib.networks import TwoLayerNet
from nnlib.training import iterate_minibatches, train

TOL = 1e-7


# ----------------------------------------------------------------------------- Value


def value_gradient_error(f, xs: list[float], h: float = 1e-6) -> float:
    """Relative error between Value's gradients of f at xs and central differences."""
    leaves = [Value(x) for x in xs]
    f(*leaves).backward()
    analytic = np.array([v.grad for v in leaves])
    numeric = np.zeros(len(xs))
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        f_up = f(*[Value(x) for x in up]).data
        f_down = f(*[Value(x) for x in down]).data
        numeric[i] = (f_up - f_down) / (2 * h)
    return relative_error(analytic, numeric)


VALUE_OPS = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
    "a ** 3": lambda a, b: a**3,
    "a ** -1.5": lambda a, b: a**-1.5,
    "a ** b": lambda a, b: a**b,
    "2.5 ** a": lambda a, b: 2.5**a,
    "-a": lambda a, b: -a,
    "3 + a": lambda a, b: 3 + a,
    "3 - a": lambda a, b: 3 - a,
    "3 * a": lambda a, b: 3 * a,
    "3 / a": lambda a, b: 3 / a,
    "a - 3": lambda a, b: a - 3,
    "a / 3": lambda a, b: a / 3,
    "relu(a)": lambda a, b: a.relu(),
    "relu(-a)": lambda a, b: (-a).relu(),
    "tanh(a)": lambda a, b: a.tanh(),
    "exp(a)": lambda a, b: a.exp(),
    "log(a)": lambda a, b: a.log(),
    "sigmoid(a)": lambda a, b: a.sigmoid(),
    "sigmoid(-a)": lambda a, b: (-a).sigmoid(),
}


@pytest.mark.parametrize("name", list(VALUE_OPS))
def test_value_operation(name: str) -> None:
    f = VALUE_OPS[name]
    for a, b in [(1.3, 0.7), (0.4, 2.2), (2.9, -0.6)]:
        assert value_gradient_error(f, [a, b]) < TOL, (name, a, b)


def test_value_micrograd_example() -> None:
    # The example of micrograd's README, with its published results.
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert math.isclose(g.data, 24.7041, rel_tol=1e-5)
    assert math.isclose(a.grad, 138.8338, rel_tol=1e-5)
    assert math.isclose(b.grad, 645.5773, rel_tol=1e-5)


def test_value_fan_out_sums_the_paths() -> None:
    x = Value(3.0)
    y = x * x + x  # x is used three times: dy/dx = 2x + 1
    y.backward()
    assert y.data == 12.0 and x.grad == 7.0


def random_program(rng: np.random.Generator, n_inputs: int, n_ops: int) -> list:
    """Steps (name, i, j): node k = op(node i, node j), each i, j drawn among earlier nodes.

    Drawing operands among *all* earlier nodes makes nodes feed several others (fan-out).
    The unary ops are applied to squashed arguments so that every value stays moderate.
    """
    names = ["+", "-", "*", "tanh", "sigmoid", "exp", "log", "relu", "square", "/"]
    steps = []
    for k in range(n_inputs, n_inputs + n_ops):
        steps.append((names[rng.integers(len(names))], int(rng.integers(k)), int(rng.integers(k))))
    return steps


def run_program(steps: list, inputs: list):
    nodes = list(inputs)
    for name, i, j in steps:
        a, b = nodes[i], nodes[j]
        if name == "+":
            out = a + b
        elif name == "-":
            out = a - b
        elif name == "*":
            out = a * b.tanh()
        elif name == "/":
            out = a / (b.sigmoid() + 0.5)
        elif name == "tanh":
            out = a.tanh()
        elif name == "sigmoid":
            out = a.sigmoid()
        elif name == "exp":
            out = a.tanh().exp()
        elif name == "log":
            out = (a.sigmoid() + 0.1).log()
        elif name == "relu":
            out = a.relu() + 0.1 * a  # a leaky ReLU: no kink within ±h of the inputs
        else:
            out = a.tanh() ** 2
        nodes.append(out)
    # The sum of the last few nodes: a scalar that depends on most of the graph.
    total = nodes[-1]
    for node in nodes[-4:-1]:
        total = total + node
    return total


@pytest.mark.parametrize("seed", range(8))
def test_value_random_graphs_with_fan_out(seed: int) -> None:
    rng = np.random.default_rng(seed)
    steps = random_program(rng, n_inputs=4, n_ops=30)
    xs = list(rng.uniform(-1.5, 1.5, 4))
    fan_out = np.bincount([i for _, i, _ in steps] + [j for _, _, j in steps]).max()
    assert fan_out >= 3, "the program should use some node several times"
    assert value_gradient_error(lambda *v: run_program(steps, list(v)), xs) < TOL


def test_value_deep_graph_does_not_recurse() -> None:
    depth = 3 * sys.getrecursionlimit()
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_value_extremes() -> None:
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(1000.0).exp().data == math.inf
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="negative base"):
        (-2.0) ** Value(0.5)
    with pytest.raises(TypeError, match="Value"):
        Value(1.0) + "one"


def test_value_grads_accumulate_and_zero_grad() -> None:
    x = Value(2.0)
    (x * 3).backward()
    (x * 3).backward()
    assert x.grad == 6.0  # two backward passes add up, as in PyTorch
    zero_grad([x])
    assert x.grad == 0.0


# ----------------------------------------------------------------------------- Tensor


def tensor_gradient_errors(f, arrays: list[np.ndarray], seed: int = 0) -> list[float]:
    """Relative errors of Tensor's gradients of Σ R ⊙ f(...) for each input array.

    R is a random upstream gradient passed to ``backward(R)``: it checks the whole
    vector-Jacobian product, not only the sum of the Jacobian's rows.
    """
    tensors = [Tensor(a.copy()) for a in arrays]
    out = f(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    errors = []
    for k, a in enumerate(arrays):
        x = a.copy()

        def loss(x_k: np.ndarray, k: int = k) -> float:
            inputs = [Tensor(x_k) if i == k else Tensor(b) for i, b in enumerate(arrays)]
            return float(np.sum(upstream * f(*inputs).data))

        numeric = numerical_gradient(loss, x, h=1e-6)
        errors.append(relative_error(tensors[k].grad, numeric))
    return errors


def arrays(rng: np.random.Generator, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [rng.standard_normal(s) for s in shapes]


TENSOR_UNARY = {
    "relu": lambda a: a.relu(),
    "sigmoid": lambda a: a.sigmoid(),
    "tanh": lambda a: a.tanh(),
    "exp": lambda a: a.exp(),
    "log": lambda a: (a * a + 0.5).log(),
    "square": lambda a: a**2,
    "power 3": lambda a: a**3,
    "neg": lambda a: -a,
    "sum": lambda a: a.sum(),
    "sum axis 0": lambda a: a.sum(axis=0),
    "sum axis 1 keepdims": lambda a: a.sum(axis=1, keepdims=True),
    "sum axis -1": lambda a: a.sum(axis=-1),
    "mean": lambda a: a.mean(),
    "mean axis 0": lambda a: a.mean(axis=0),
    "mean axis 1 keepdims": lambda a: a.mean(axis=1, keepdims=True),
    "number - a": lambda a: 2.0 - a,
    "number / a": lambda a: 1.0 / (a * a + 1.0),
    "a / number": lambda a: a / 4.0,
}


@pytest.mark.parametrize("shape", [(4, 3), (1, 3), (4, 1), (1, 1), (5,), (2, 3, 2)])
@pytest.mark.parametrize("name", list(TENSOR_UNARY))
def test_tensor_unary(name: str, shape: tuple[int, ...]) -> None:
    if "axis 1" in name and len(shape) < 2:
        pytest.skip("needs a second axis")
    rng = np.random.default_rng(1)
    (a,) = arrays(rng, shape)
    if name == "relu":
        a[np.abs(a) < 1e-3] = 0.5  # keep away from the kink, where differences are one-sided
    (err,) = tensor_gradient_errors(TENSOR_UNARY[name], [a])
    assert err < TOL, (name, shape, err)


BROADCAST_SHAPES = [
    ((4, 3), (4, 3)),
    ((4, 3), (3,)),
    ((4, 3), (1, 3)),
    ((4, 3), (4, 1)),
    ((4, 1), (1, 3)),
    ((2, 4, 3), (4, 1)),
    ((2, 1, 3), (4, 1)),
    ((1,), (4, 3)),
    ((), (4, 3)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
@pytest.mark.parametrize(("shape_a", "shape_b"), BROADCAST_SHAPES)
def test_tensor_binary_with_broadcasting(op: str, shape_a: tuple, shape_b: tuple) -> None:
    rng = np.random.default_rng(2)
    a, b = arrays(rng, shape_a, shape_b)
    f = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / (y * y + 0.5),
    }[op]
    for swapped in (False, True):
        g = (lambda x, y: f(y, x)) if swapped else f
        errors = tensor_gradient_errors(g, [a, b])
        assert max(errors) < TOL, (op, shape_a, shape_b, swapped, errors)
    out = f(Tensor(a), Tensor(b))
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((4, 3), (3, 2)), ((1, 3), (3, 2)), ((4, 1), (1, 2)), ((4, 3), (3, 1))]
)
def test_tensor_matmul(shape_a: tuple, shape_b: tuple) -> None:
    rng = np.random.default_rng(3)
    errors = tensor_gradient_errors(lambda x, y: x @ y, arrays(rng, shape_a, shape_b))
    assert max(errors) < TOL, errors


def test_tensor_mixes_with_arrays_and_numbers() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    W = Tensor(w)
    out = x @ W  # ndarray @ Tensor: numpy defers to Tensor.__rmatmul__
    assert isinstance(out, Tensor)
    out2 = 2.0 * (np.ones((5, 2)) - out) + 1
    assert isinstance(out2, Tensor)
    out2.sum().backward()
    np.testing.assert_allclose(W.grad, x.T @ (-2.0 * np.ones((5, 2))), rtol=1e-12)


@pytest.mark.parametrize("labels", ["index", "one-hot"])
def test_tensor_softmax_cross_entropy(labels: str) -> None:
    rng = np.random.default_rng(5)
    z = 3 * rng.standard_normal((6, 4))
    t = rng.integers(0, 4, 6)
    if labels == "one-hot":
        t = np.eye(4)[t]
    (err,) = tensor_gradient_errors(lambda a: a.softmax_cross_entropy(t) * 1.0, [z])
    assert err < TOL
    # ... and with an upstream gradient other than 1
    (err2,) = tensor_gradient_errors(lambda a: (a * 2.0).softmax_cross_entropy(t) * 3.0, [z])
    assert err2 < TOL
    loss = Tensor(z).softmax_cross_entropy(t)
    assert loss.item() == pytest.approx(softmax_cross_entropy(z, t)[0], rel=1e-15)


def test_tensor_softmax_cross_entropy_extreme_logits() -> None:
    z = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = z.softmax_cross_entropy(np.array([0, 0]))
        loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))


def random_tensor_graph(tensors: list[Tensor], rng: np.random.Generator, n_ops: int) -> Tensor:
    """A random graph on (3, 4) tensors (and a (4, 4) matrix), each op reusing earlier nodes."""
    nodes, matrix = list(tensors[:-1]), tensors[-1]
    for _ in range(n_ops):
        a, b = nodes[rng.integers(len(nodes))], nodes[rng.integers(len(nodes))]
        kind = rng.integers(7)
        if kind == 0:
            out = a + b
        elif kind == 1:
            out = a * b.tanh()
        elif kind == 2:
            out = (a @ matrix).tanh()
        elif kind == 3:
            out = a.sigmoid() - b
        elif kind == 4:
            out = a + b.sum(axis=0, keepdims=True)  # broadcast back over the rows
        elif kind == 5:
            out = a / (b * b + 1.0)
        else:
            out = a.mean(axis=1, keepdims=True) * b  # (3, 1) times (3, 4)
        nodes.append(out)
    return nodes[-1] + nodes[-2] + nodes[-3]


@pytest.mark.parametrize("seed", range(6))
def test_tensor_random_graphs_with_fan_out(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inputs = arrays(rng, (3, 4), (3, 4), (3, 4), (4, 4))
    steps_seed = int(rng.integers(1 << 30))

    def f(*tensors: Tensor) -> Tensor:
        return random_tensor_graph(list(tensors), np.random.default_rng(steps_seed), 25)

    assert max(tensor_gradient_errors(f, inputs)) < TOL


def test_tensor_mlp_equals_two_layer_net() -> None:
    """The Tensor engine's gradients of notebook 04's network equal TwoLayerNet's to round-off."""
    rng = np.random.default_rng(6)
    x, t = rng.random((8, 20)), rng.integers(0, 5, 8)
    for activation in ("sigmoid", "relu", "tanh"):
        net = TwoLayerNet(20, 7, 5, activation, weight_init=0.5, seed=1)
        loss_hand, grads_hand = net.loss_and_gradient(x, t)
        params = {k: Tensor(v) for k, v in net.params.items()}
        h = getattr(x @ params["W1"] + params["b1"], activation)()
        loss = (h @ params["W2"] + params["b2"]).softmax_cross_entropy(t)
        loss.backward()
        assert loss.item() == pytest.approx(loss_hand, rel=1e-14)
        for key, p in params.items():
            assert relative_error(p.grad, grads_hand[key]) < 1e-13, (activation, key)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_engine_training_equals_train(activation: str) -> None:
    """loss.backward() and SGD on the same batches give nnlib.train's network."""
    x, t = spirals(60, seed=2)
    x = x.astype(np.float32)
    nets = [TwoLayerNet(2, 16, 3, activation, 0.5, seed=3, dtype=np.float32) for _ in range(2)]
    hist = train(nets[0], x, t, lr=0.5, epochs=3, batch_size=32, seed=4, progress=False)
    params = [Tensor(nets[1].params[k]) for k in ("W1", "b1", "W2", "b2")]  # no copies
    W1, b1, W2, b2 = params
    losses = []
    rng = np.random.default_rng(4)  # how train draws its batches
    for _ in range(3):
        for xb, tb in iterate_minibatches(x, t, 32, rng):
            zero_grad(params)
            loss = (getattr(xb @ W1 + b1, activation)() @ W2 + b2).softmax_cross_entropy(tb)
            loss.backward()
            for p in params:
                p.data += -0.5 * p.grad  # sgd_step's arithmetic
            losses.append(loss.item())
    # Equal to the bit on this machine; a tolerance keeps the test free of BLAS kernel choices.
    np.testing.assert_allclose(losses, hist.loss, rtol=1e-5)
    for key in nets[0].params:
        np.testing.assert_allclose(nets[0].params[key], nets[1].params[key], rtol=1e-5, atol=1e-6)


def test_float32_stays_float32() -> None:
    W = Tensor(np.ones((3, 2), dtype=np.float32))
    b = Tensor(np.zeros(2, dtype=np.float32))
    x = np.ones((4, 3), dtype=np.float32)
    loss = ((x @ W + b).sigmoid() * 2.0 - 1.0).tanh().softmax_cross_entropy(np.zeros(4, int))
    loss.backward()
    assert loss.dtype == np.float32 and W.grad.dtype == np.float32 and b.grad.dtype == np.float32


def test_fan_out_of_a_tensor_sums_the_paths() -> None:
    a = Tensor(np.array([1.0, 2.0]))
    (a * a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 5.0])  # 2a + 1


def test_intermediate_gradients_are_not_aliased() -> None:
    # u + v hands the same array to u and v; a second path into u must not change v's gradient.
    for swap in (False, True):
        a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
        u, v = a * 1.0, b * 1.0
        s = u + v
        terms = [s * 2.0, u * 3.0]
        (terms[1] + terms[0] if swap else terms[0] + terms[1]).sum().backward()
        np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])
        np.testing.assert_array_equal(a.grad, [5.0, 5.0, 5.0])


def test_tensor_grads_accumulate_and_zero_grad() -> None:
    W = Tensor(np.ones((2, 2)))
    (W * 3.0).sum().backward()
    (W * 3.0).sum().backward()
    np.testing.assert_array_equal(W.grad, np.full((2, 2), 6.0))
    zero_grad([W])
    np.testing.assert_array_equal(W.grad, np.zeros((2, 2)))


def test_tensor_deep_graph_does_not_recurse() -> None:
    x = Tensor(np.ones(2))
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_topological_order_puts_parents_first() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == len(set(order)) == 5
    position = {id(v): k for k, v in enumerate(order)}
    for v in order:
        for p in v._parents:
            assert position[id(p)] < position[id(v)]


def test_constants_build_no_graph() -> None:
    x = Tensor(np.ones((2, 2)), requires_grad=False)
    y = (x * 2.0).sigmoid().sum()
    assert not y.requires_grad and y._parents == ()
    with pytest.raises(ValueError, match="requires_grad"):
        y.backward()


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_mismatched_shapes_name_both(op: str) -> None:
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((3,)))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3,\)"):
        {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__}[op](b)


def test_matmul_mismatch_names_both() -> None:
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(4, 2\)"):
        Tensor(np.ones((5, 3))) @ Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        Tensor(np.ones(3)) @ Tensor(np.ones((3, 2)))


def test_backward_on_a_non_scalar_needs_a_gradient() -> None:
    y = Tensor(np.ones((2, 3))) * 2.0
    with pytest.raises(ValueError, match=r"scalar.*\(2, 3\).*\.sum\(\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))
    y.backward(np.ones((2, 3)))  # an explicit upstream gradient is fine


def test_tensor_rejects_non_numbers() -> None:
    with pytest.raises(ValueError, match="numbers"):
        Tensor(np.array(["a", "b"]))
