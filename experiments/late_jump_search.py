"""The search behind notebook 05: does the 50-neuron XOR network of seed article 001 jump late?

    python experiments/late_jump_search.py            # the whole grid: 216 runs, 10-20 minutes
    python experiments/late_jump_search.py --quick    # 8 runs, to try it out

Seed article 001 says that its 50-neuron XOR network learns well and then, late in training, its
loss suddenly jumps. Notebook 03 traced that jump to a bug in the article's ridge gradient.
This script asks whether a *correct* gradient ever does it, over a grid of settings:

* the network ``MLP([2, 50, 2], ["sigmoid", "sigmoid"], loss="sum_squared_error",
  weight_decay=λ)`` (nnlib's initialisation, weight seeds 0 and 1), as in notebook 03;
* the data ``xor_cloud(300, seed)``, data seeds 0-2;
* constant learning rates 0.02, 0.1, 0.3 and 1; λ = 0, 0.001 and 0.1;
* full batch (300) and mini-batches of 50 and 10, 3000 iterations each.

The loss that counts is the one on all 300 points, every 10 iterations (a mini-batch's own loss
jumps from batch to batch by construction). A run **learned** when that loss fell below a tenth of
its start. It **learned, then blew up** when, after that, its loss stopped being a number or rose
more than tenfold above its lowest value so far, as the seed's loss did. Mini-batch runs at large
rates never settle: their loss bounces and may end a few times above its best. That is noise,
not a blow-up, and the printout measures it: per batch size, the largest spike (as a multiple of
the lowest loss so far) and the largest ratio of the last loss to the lowest.

It exits with status 1 when a run learned and then blew up, so the notebook's "no run learned
well and then blew up" is checked by running it.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass

import numpy as np

from nnlib.datasets import xor_cloud
from nnlib.labels import one_hot
from nnlib.networks import MLP
from nnlib.training import iterate_minibatches, sgd_step

LRS = (0.02, 0.1, 0.3, 1.0)
LAMBDAS = (0.0, 1e-3, 0.1)
BATCH_SIZES = (300, 50, 10)
DATA_SEEDS = range(3)
WEIGHT_SEEDS = range(2)
ITERATIONS = 3000
EVERY = 10  # iterations between two evaluations of the full loss
LEARNED = 0.1  # "learned": the full loss fell below this fraction of its start
BLEW_UP = 10.0  # "blew up": after learning, it rose above this multiple of its lowest so far


@dataclass
class Run:
    """One training run: its setting and what its full loss did."""

    lr: float
    lam: float
    batch_size: int
    data_seed: int
    weight_seed: int
    learned: bool
    climb: float  # largest loss / running minimum after it learned (1.0: never climbed)
    end: float  # last loss / lowest loss after it learned (NaN: stopped being a number)

    @property
    def blew_up(self) -> bool:
        return self.learned and not self.climb <= BLEW_UP  # NaN counts as blown up


def full_losses(
    lr: float, lam: float, batch_size: int, data_seed: int, weight_seed: int
) -> np.ndarray:
    """The loss on all 300 points every EVERY iterations (stops early at NaN or inf), (K,)."""
    x, t = xor_cloud(300, seed=data_seed)
    T = one_hot(t, 2)
    net = MLP(
        [2, 50, 2],
        ["sigmoid", "sigmoid"],
        loss="sum_squared_error",
        weight_decay=lam,
        seed=weight_seed,
    )
    rng = np.random.default_rng(weight_seed)
    losses = [net.loss(x, T)]
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while k < ITERATIONS:
            for xb, Tb in iterate_minibatches(x, T, batch_size, rng):
                _, grads = net.loss_and_gradient(xb, Tb)
                sgd_step(net.params, grads, lr)
                k += 1
                if k % EVERY == 0:
                    losses.append(net.loss(x, T))
                    if not np.isfinite(losses[-1]):
                        return np.array(losses)
                if k == ITERATIONS:
                    break
    return np.array(losses)


def late_climb(losses: np.ndarray) -> tuple[bool, float, float]:
    """(learned, largest loss / running minimum, last loss / minimum), from when it learned."""
    below = np.flatnonzero(losses < LEARNED * losses[0])
    if below.size == 0:
        return False, 1.0, 1.0
    after = losses[below[0] :]
    if not np.all(np.isfinite(after)):
        return True, float("nan"), float("nan")
    return True, float(np.max(after / np.minimum.accumulate(after))), float(after[-1] / after.min())


def search(quick: bool = False) -> list[Run]:
    """Train every setting of the grid (two of each axis with ``quick``)."""
    axes = [LRS, LAMBDAS, BATCH_SIZES, DATA_SEEDS, WEIGHT_SEEDS]
    if quick:
        axes = [(0.02, 0.3), (1e-3,), (300, 10), (0,), (0, 1)]
    runs = []
    for lr, lam, batch_size, data_seed, weight_seed in itertools.product(*axes):
        learned, climb, end = late_climb(full_losses(lr, lam, batch_size, data_seed, weight_seed))
        runs.append(Run(lr, lam, batch_size, data_seed, weight_seed, learned, climb, end))
    return runs


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns 1 when a run learned and then blew up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 runs instead of 216")
    args = parser.parse_args(argv)
    runs = search(args.quick)
    for batch_size in sorted({r.batch_size for r in runs}, reverse=True):
        group = [r for r in runs if r.batch_size == batch_size and r.learned]
        total = sum(r.batch_size == batch_size for r in runs)
        climb = max((r.climb for r in group), default=1.0)
        end = max((r.end for r in group), default=1.0)
        print(
            f"batch {batch_size:3d}: {len(group):3d} of {total} runs learned; after learning, "
            f"largest spike {climb:.2f}x the lowest loss so far, largest end {end:.2f}x the lowest"
        )
    bad = [r for r in runs if r.blew_up]
    for r in bad:
        print(f"  blew up: {r}")
    print(f"{len(runs)} runs, {len(bad)} learned and then blew up")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
