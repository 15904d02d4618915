"""nnlib: the small numpy library of the course "Neural networks from scratch".

Modules, in the order the course meets them:

* ``activations``: sigmoid, relu, tanh, identity, softmax, log_softmax and derivatives
* ``losses``: squared errors, cross-entropy, softmax cross-entropy, the L2 penalty
* ``gradients``: numerical derivatives, gradient descent, gradient checking
* ``layers``: forward/backward pairs (affine, sigmoid, relu, tanh, dropout, conv, max_pool)
  with a cache
* ``networks``: ``TwoLayerNet``, ``MLP`` and ``ConvNet``, stacks of layers trained by backprop
* ``optimizers``: SGD, Momentum, AdaGrad, RMSProp, Adam: ``update(params, grads)``
* ``autograd``: ``Value`` and ``Tensor``, a define-by-run engine: ``loss.backward()``
* ``training``: mini-batches, schedules, ``train``
* ``datasets``: XOR, spirals, moons, ``one_hot``, ``train_val_split``, ``load_mnist``
* ``metrics`` and ``plotting``
"""

from nnlib.activations import (
    identity,
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    tanh,
    tanh_grad,
)
from nnlib.datasets import one_hot, train_val_split, xor, xor_cloud
from nnlib.gradients import (
    gradient_check,
    gradient_descent,
    numerical_derivative,
    numerical_gradient,
    relative_error,
)
from nnlib.losses import (
    cross_entropy_error,
    cross_entropy_error_grad,
    l2_penalty,
    l2_penalty_grad,
    mean_squared_error,
    mean_squared_error_grad,
    softmax_cross_entropy,
    sum_squared_error,
    sum_squared_error_grad,
)
from nnlib.networks import MLP, TwoLayerNet
from nnlib.training import DivergenceError, History, sgd_step, train

__version__ = "0.1.0"
__all__ = [
    "MLP",
    "DivergenceError",
    "History",
    "TwoLayerNet",
    "cross_entropy_error",
    "cross_entropy_error_grad",
    "gradient_check",
    "gradient_descent",
    "identity",
    "l2_penalty",
    "l2_penalty_grad",
    "log_softmax",
    "mean_squared_error",
    "mean_squared_error_grad",
    "numerical_derivative",
    "numerical_gradient",
    "one_hot",
    "relative_error",
    "relu",
    "relu_grad",
    "sgd_step",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "sum_squared_error",
    "sum_squared_error_grad",
    "tanh",
    "tanh_grad",
    "train",
    "train_val_split",
    "xor",
    "xor_cloud",
]
