"""scikit-learn estimators trained by ranvier: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for :class:`sklearn.neural_network.MLPClassifier` and
:class:`sklearn.neural_network.MLPRegressor` for the stochastic solvers, with the same
parameter names, defaults, attributes and stopping rules, trained by ranvier's C++
loop (whole epochs with the GIL released)::

    from ranvier.sklearn import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=0).fit(X, y)
    clf.predict_proba(X)

They are ordinary scikit-learn estimators: ``get_params``/``set_params``, ``clone``,
pickling, ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` all work, and they pass
``sklearn.utils.estimator_checks.check_estimator`` (the one skipped check is listed with
its reason in ``tests/test_sklearn.py``). scikit-learn is an optional extra:
``pip install "scikit-learn>=1.2"`` (the ``sklearn`` extra: ``pip install ".[sklearn]"``
in a checkout).

How scikit-learn's definitions map onto ranvier
-----------------------------------------------
- **Network and initialization**: Dense layers with the hidden ``activation``
  (``identity``/``logistic``/``tanh``/``relu`` -> ranvier's ``linear``/``sigmoid``/
  ``tanh``/``relu``) and the output activation scikit-learn uses (``softmax`` for
  multiclass, ``logistic`` for binary and multilabel, identity for squared error,
  ``exponential`` for Poisson). Weights and biases are initialized exactly as
  scikit-learn does (uniform Glorot bounds, ``factor=2`` for ``logistic``), drawn from
  ``random_state`` in scikit-learn's order, so both libraries start from the same
  network for the same ``random_state``.
- **Loss**: the same functions as scikit-learn: log-loss summed over the outputs
  (categorical cross-entropy; binary cross-entropy with ``loss_weights`` = number of
  labels for multilabel), half squared error (``mse`` with ``loss_weights=0.5``) and
  half Poisson deviance (``poisson`` with the constant ``xlogy(y, y) - y`` added back to
  the reported ``loss_curve_``). Multi-output squared error: scikit-learn reports the
  half MSE averaged over the outputs but back-propagates its sum over the outputs; this
  module trains on the sum (as scikit-learn does) and reports the average (as
  scikit-learn does).
- **alpha** (L2 penalty): scikit-learn adds ``0.5 * alpha * ||W||^2 / n_batch`` to each
  minibatch's loss (all weight matrices, no biases), where ``n_batch`` is the number of
  samples in that batch. ranvier's (Keras's) ``L2(l2)`` adds ``l2 * ||W||^2`` per batch,
  so every Dense kernel gets ``kernel_regularizer=L2(alpha / (2 * batch_size))``. This
  is exact for every full batch; the last, partial batch of an epoch (when ``batch_size``
  does not divide the number of samples) is penalised with the full batch's coefficient,
  i.e. slightly less than scikit-learn does. The coefficient is fixed when the network
  is built (first ``fit``/``partial_fit``); later ``partial_fit`` or ``warm_start`` calls
  with another batch size keep it.
- **sample_weight**: scikit-learn divides each batch's weighted loss by the batch's sum
  of weights (the L2 penalty too); Keras divides by the batch size. The weights are
  rescaled once to average 1 over the training set and the L2 coefficient is divided by
  their mean, which makes the two identical for a full batch and equal in expectation
  for minibatches.
- **Solvers**: ``adam`` -> ``ranvier.optimizers.Adam(learning_rate_init, beta_1,
  beta_2, epsilon)``, ``sgd`` -> ``ranvier.optimizers.SGD(learning_rate_init, momentum,
  nesterov=nesterovs_momentum)`` (the same update rules as scikit-learn's);
  ``learning_rate="invscaling"``/``"adaptive"`` adjust the SGD learning rate between
  epochs as scikit-learn does. ``lbfgs`` is not available (ranvier trains with
  minibatch solvers) and raises a ValueError; ``max_fun`` (an lbfgs option) does not
  exist here.
- **Stopping**: ``tol``/``n_iter_no_change`` on the training loss, or with
  ``early_stopping=True`` on the validation score (accuracy / R^2) of a held-out
  ``validation_fraction`` (stratified for classifiers), best weights restored at the
  end; ``max_iter`` epochs at most with a ``ConvergenceWarning`` when reached. All of it
  runs in a callback at epoch end of one ``Sequential.fit`` call, so the data is
  converted once per ``fit``.
- **Randomness**: ``random_state`` seeds the initialization, the validation split and
  a private ranvier random stream used for shuffling, so a fixed ``random_state`` gives
  identical fits (ranvier's results do not depend on the thread count); with
  ``random_state=None`` they come from NumPy's global random state, as in scikit-learn.
  The caller's ranvier stream (``ranvier.utils.set_random_seed``) is left untouched.
  A fit holds a module lock while it uses its private stream: fits of several
  estimators from several Python threads run one at a time (each uses all cores
  through OpenMP anyway).
- **dtype**: computation is float32; ``X`` (NumPy of any real dtype, lists, pandas
  DataFrames, anything with ``__array__``) is converted once per call to C-contiguous
  float32 by scikit-learn's ``validate_data`` (the model then trains on it in place);
  ``predict_proba`` and a regressor's ``predict`` are returned as float64, as scikit-learn
  returns them. Sparse input is not accepted (densify it first).
- ``coefs_``/``intercepts_`` are copies of the trained weights in scikit-learn's layout
  (``coefs_[i]`` has shape ``(n_in, n_out)``); the network itself is ``model_`` (a
  ``ranvier.Sequential``: ``model_.summary()``, ``model_.save(path)``).
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets,
                                          type_of_target, unique_labels)
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d
except ImportError as _e:  # pragma: no cover - exercised in an environment without sklearn
    raise ImportError(
        "ranvier.sklearn needs scikit-learn, an optional extra: pip install ranvier[sklearn] "
        f"(or pip install 'scikit-learn>=1.2'); the import failed with: {_e}") from _e

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.2 .. 1.5
    _sk_validate_data = None

from . import _checks, _random
from . import callbacks as _callbacks
from . import layers as _layers
from . import optimizers as _optimizers
from . import regularizers as _regularizers
from .models import Sequential

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("sgd", "adam")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")

def _private_stream(seed: int) -> Any:
    """Makes ranvier's global random stream (initializers, shuffling) a private one
    seeded by ``seed`` for the duration, then restores the caller's stream."""
    return _random.private_stream(seed)


def _validate_data(est: BaseEstimator, *args: Any, **kwargs: Any) -> Any:
    if _sk_validate_data is not None:
        return _sk_validate_data(est, *args, **kwargs)
    return est._validate_data(*args, **kwargs)  # pragma: no cover - scikit-learn < 1.6


def _array_input(X: Any) -> Any:
    """Objects that only offer ``__array__`` (no ``shape``) become arrays first: scikit-learn's
    validation counts features through ``shape``. No copy: ``np.asarray`` takes what
    ``__array__`` returns; the float32 conversion happens once, in ``validate_data``."""
    if hasattr(X, "__array__") and not hasattr(X, "shape"):
        return np.asarray(X)
    return X


class _EpochEnd(_callbacks.Callback):
    """scikit-learn's per-iteration bookkeeping, run by ``Sequential.fit`` at each epoch
    end: loss curve, verbose lines, no-improvement counting (training loss or validation
    score), learning-rate schedules of the SGD solver, stopping."""

    def __init__(self, est: "_BaseMLP", n_train: int, loss_offset: float, mse_fix: Optional[float],
                 validation: Optional[Tuple[np.ndarray, Any]], incremental: bool):
        super().__init__()
        self.est = est
        self.n_train = n_train
        self.loss_offset = loss_offset
        self.mse_fix = mse_fix
        self.validation = validation
        self.incremental = incremental
        self.stopped_early = False

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        est, model = self.est, self.model
        logs = logs or {}
        loss = float(logs["loss"]) + self.loss_offset
        if self.mse_fix is not None:  # multi-output squared error: report the mean over outputs
            mse_key = next(k for k in logs if k not in ("loss",) and not k.startswith("val_"))
            loss -= self.mse_fix * float(logs[mse_key])
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (est.n_iter_, loss))
        if not np.isfinite(loss):
            model.stop_training = True  # the caller raises sklearn's "non-finite" error
            return
        self._update_no_improvement_count()
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            model.optimizer.learning_rate = float(est.learning_rate_init) / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            if self.validation is not None:
                msg = ("Validation score did not improve more than tol=%f for %d consecutive epochs."
                       % (est.tol, est.n_iter_no_change))
            else:
                msg = ("Training loss did not improve more than tol=%f for %d consecutive epochs."
                       % (est.tol, est.n_iter_no_change))
            if self._trigger_stopping(msg):
                model.stop_training = True
                self.stopped_early = True
                return
            est._no_improvement_count = 0

    def _trigger_stopping(self, msg: str) -> bool:
        est, opt = self.est, self.model.optimizer
        if est.solver != "sgd" or est.learning_rate != "adaptive":
            if est.verbose:
                print(msg + " Stopping.")
            return True
        lr = float(opt.learning_rate)
        if lr <= 1e-6:
            if est.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        opt.learning_rate = lr / 5.0
        if est.verbose:
            print(msg + " Setting learning rate to %f" % (lr / 5.0))
        return False

    def _update_no_improvement_count(self) -> None:
        est = self.est
        if self.validation is not None:
            x_val, y_val = self.validation
            score = est._score_arrays(x_val, y_val)
            scores = est.validation_scores_
            best = est.best_validation_score_
            if scores is None or best is None:  # set by _initialize when early_stopping
                raise RuntimeError("early stopping state missing; refit with warm_start=False")
            scores.append(score)
            if est.verbose:
                print("Validation score: %f" % score)
            if score < best + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > best:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            last = est.loss_curve_[-1]
            best_loss = np.inf if est.best_loss_ is None else est.best_loss_
            if last > best_loss - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if last < best_loss:
                est.best_loss_ = last


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share (not public)."""

    # set by subclasses
    _is_classifier = False

    def __init__(self, hidden_layer_sizes: Union[int, Sequence[int]] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Union[int, str] = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------ parameters
    def _hidden_sizes(self) -> List[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(_checks.is_int(h) for h in sizes) or any(h <= 0 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}")
        return [int(h) for h in sizes]

    def _check_params(self) -> None:
        name = type(self).__name__

        def bad(param: str, expected: str) -> ValueError:
            return ValueError(f"The '{param}' parameter of {name} must be {expected}. "
                              f"Got {getattr(self, param)!r} instead.")

        if self.solver == "lbfgs":
            raise ValueError(
                f"{name}: solver='lbfgs' is not available in ranvier, which trains with minibatch "
                f"stochastic solvers in C++; use solver='adam' (the default) or solver='sgd', or "
                f"sklearn.neural_network.{name} for lbfgs")
        if self.solver not in _SOLVERS:
            raise bad("solver", "a str among {'adam', 'sgd'} ('lbfgs' is not available in ranvier)")
        if self.activation not in _ACTIVATIONS:
            raise bad("activation", "a str among {'identity', 'logistic', 'relu', 'tanh'}")
        if self.learning_rate not in _LEARNING_RATES:
            raise bad("learning_rate", "a str among {'adaptive', 'constant', 'invscaling'}")
        if not _checks.is_real(self.alpha) or not self.alpha >= 0:
            raise bad("alpha", "a float in the range [0, inf)")
        if not (self.batch_size == "auto" or (_checks.is_int(self.batch_size) and self.batch_size >= 1)):  # type: ignore
            raise bad("batch_size", "an int in the range [1, inf) or 'auto'")
        if not _checks.is_real(self.learning_rate_init) or not self.learning_rate_init > 0:
            raise bad("learning_rate_init", "a float in the range (0, inf)")
        if not _checks.is_real(self.power_t) or not self.power_t >= 0:
            raise bad("power_t", "a float in the range [0, inf)")
        if not _checks.is_int(self.max_iter) or self.max_iter < 1:
            raise bad("max_iter", "an int in the range [1, inf)")
        if not _checks.is_real(self.tol) or not self.tol >= 0:
            raise bad("tol", "a float in the range [0, inf)")
        if not _checks.is_real(self.momentum) or not 0 <= self.momentum <= 1:
            raise bad("momentum", "a float in the range [0, 1]")
        if not _checks.is_real(self.validation_fraction) or not 0 < self.validation_fraction < 1:
            raise bad("validation_fraction", "a float in the range (0, 1)")
        for p in ("beta_1", "beta_2"):
            v = getattr(self, p)
            if not _checks.is_real(v) or not 0 <= v < 1:
                raise bad(p, "a float in the range [0, 1)")
        if not _checks.is_real(self.epsilon) or not self.epsilon > 0:
            raise bad("epsilon", "a float in the range (0, inf)")
        if not _checks.is_int(self.n_iter_no_change) or self.n_iter_no_change < 1:
            raise bad("n_iter_no_change", "an int in the range [1, inf)")
        for p in ("shuffle", "verbose", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, p), (bool, np.bool_, numbers.Integral)):
                raise bad(p, "a bool")
        self._hidden_sizes()
        self._check_loss_param()

    def _check_loss_param(self) -> None:
        pass

    # --------------------------------------------------------------- network
    def _make_optimizer(self) -> Any:
        if self.solver == "adam":
            return _optimizers.Adam(learning_rate=float(self.learning_rate_init), beta_1=float(self.beta_1),
                                    beta_2=float(self.beta_2), epsilon=float(self.epsilon))
        return _optimizers.SGD(learning_rate=float(self.learning_rate_init), momentum=float(self.momentum),
                               nesterov=bool(self.nesterovs_momentum))

    def _initialize(self, n_features: int, n_outputs: int, batch_size: float, rs: np.random.RandomState) -> None:
        """Builds ``model_`` (sklearn's architecture and initialization) and resets the
        per-fit bookkeeping, as sklearn's ``_initialize``."""
        hidden = self._hidden_sizes()
        units = [n_features] + hidden + [n_outputs]
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(units)
        self.out_activation_ = self._out_activation()
        l2 = float(self.alpha) / (2.0 * batch_size)
        self._l2 = l2
        layers: List[Any] = [_layers.Input(shape=(n_features,))]
        for i in range(1, len(units)):
            last = i == len(units) - 1
            act = {"identity": "linear", "logistic": "sigmoid", "softmax": "softmax",
                   "exp": "exponential"}[self.out_activation_] if last else _ACTIVATIONS[self.activation]
            layers.append(_layers.Dense(units[i], activation=act,
                                        kernel_regularizer=_regularizers.L2(l2) if l2 > 0 else None))
        model = Sequential(layers)
        # sklearn's initialization, in sklearn's order of draws from random_state
        factor = 2.0 if self.activation == "logistic" else 6.0
        weights = []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            weights.append(rs.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
            weights.append(rs.uniform(-bound, bound, fan_out).astype(np.float32))
        model.set_weights(weights)
        self.model_ = model
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: List[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: Optional[List[float]] = []
            self.best_validation_score_: Optional[float] = -np.inf
            self.best_loss_: Optional[float] = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self._compile()

    def _compile(self) -> None:
        loss, weight, metrics = self._loss_spec()
        self.model_.compile(optimizer=self._make_optimizer(), loss=loss, loss_weights=weight,
                            weighted_metrics=metrics)

    def _sync_coefs(self) -> None:
        w = self.model_.get_weights()
        self.coefs_ = w[0::2]
        self.intercepts_ = w[1::2]

    # ------------------------------------------------------------------- fit
    def _fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike], incremental: bool,
             classes: Optional[ArrayLike] = None) -> "_BaseMLP":
        self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        Xa, y2 = self._validate_input(X, y, incremental, reset=first_pass, classes=classes)
        n_samples, n_features = Xa.shape
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, Xa, dtype=np.float32)
            total = float(np.sum(sw, dtype=np.float64))
            if not total > 0:
                raise ValueError("sample_weight must have a positive sum")
            mean_weight = total / n_samples
            sw = np.ascontiguousarray(sw / np.float32(mean_weight), dtype=np.float32)
        else:
            mean_weight = 1.0
        rs = check_random_state(self.random_state)

        x_val = y_val = None
        x_tr, y_tr, sw_tr = Xa, y2, sw
        early = bool(self.early_stopping) and not incremental
        if first_pass:
            # the L2 mapping needs this fit's batch size (times the mean sample weight: sklearn
            # divides the penalty by each batch's sum of weights) before the model exists
            n_train = n_samples - (int(np.ceil(self.validation_fraction * n_samples)) if early else 0)
            with _private_stream(0):  # the default initializers' draws are overwritten at once
                self._initialize(n_features, y2.shape[1],
                                 self._batch_size(max(n_train, 1), warn=False) * mean_weight, rs)
        else:
            self._check_warm_architecture(n_features, y2.shape[1])
            if not incremental:  # sklearn: a new optimizer for every non-incremental fit
                self._compile()
        if early:
            stratify = y2 if (self._is_classifier and self.n_outputs_ == 1) else None
            parts = [Xa, y2] + ([sw] if sw is not None else [])
            split = train_test_split(*parts, random_state=rs, test_size=self.validation_fraction,
                                     stratify=stratify)
            x_tr, x_val, y_tr, y_val = split[0], split[1], split[2], split[3]
            sw_tr = split[4] if sw is not None else None
            if x_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            x_tr = np.ascontiguousarray(x_tr)
            x_val = np.ascontiguousarray(x_val)
            self._best_weights = self.model_.get_weights()
        n_train = x_tr.shape[0]
        batch_size = self._batch_size(n_train, warn=True)
        y_fit = self._fit_targets(y_tr)
        offset, mse_fix = self._loss_offset(y_tr, sw_tr)
        validation = None
        if early and x_val is not None:
            validation = (x_val, self._validation_targets(y_val))
        cb = _EpochEnd(self, n_train, offset, mse_fix, validation, incremental)
        self.n_iter_ = 0  # as scikit-learn: counts the epochs of this call
        epochs = 1 if incremental else int(self.max_iter)
        seed = int(rs.randint(0, 2**31 - 1))
        try:
            with _private_stream(seed):
                self.model_.fit(x_tr, y_fit, batch_size=batch_size, epochs=epochs, verbose=0,
                                shuffle=bool(self.shuffle), sample_weight=sw_tr, callbacks=[cb])
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if not incremental and not cb.stopped_early and self.n_iter_ == self.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                          "hasn't converged yet." % self.max_iter, ConvergenceWarning, stacklevel=3)
        if early:
            self.model_.set_weights(self._best_weights)
            del self._best_weights
        self._sync_coefs()
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain "
                             "large values and need to be preprocessed.")
        return self

    def _batch_size(self, n_samples: int, warn: bool) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        bs = int(self.batch_size)
        if bs > n_samples and warn:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(bs, 1, n_samples))

    def _check_warm_architecture(self, n_features: int, n_outputs: int) -> None:
        units = [n_features] + self._hidden_sizes() + [n_outputs]
        have = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        if units != have:
            raise ValueError(f"{type(self).__name__}: warm_start/partial_fit needs the same network as the "
                             f"previous fit (layer sizes {have}), got layer sizes {units}; set "
                             f"warm_start=False to fit a new network")

    def _loss_offset(self, y: np.ndarray, sw: Optional[np.ndarray]) -> Tuple[float, Optional[float]]:
        return 0.0, None

    def _forward(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self)
        Xa = _validate_data(self, _array_input(X), reset=False, dtype=np.float32, order="C")
        p = self.model_.predict(Xa, batch_size=min(max(Xa.shape[0], 1), 1024), verbose=0)
        return p.astype(np.float64)  # scikit-learn's convention; computed in float32

    # ----------------------------------------------------------- pickling
    def __getstate__(self) -> Dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: never edit __dict__
        # the weights travel inside model_; coefs_/intercepts_ are rebuilt from it
        state.pop("coefs_", None)
        state.pop("intercepts_", None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_" in self.__dict__:
            self._sync_coefs()

    # subclasses define the rest
    def _out_activation(self) -> str:
        raise NotImplementedError

    def _loss_spec(self) -> Tuple[str, float, Optional[List[str]]]:
        raise NotImplementedError

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _validation_targets(self, y: Optional[np.ndarray]) -> Any:
        raise NotImplementedError

    def _score_arrays(self, X: np.ndarray, y: Any) -> float:
        raise NotImplementedError


_PARAMS_DOC = """
    Names and defaults are scikit-learn's; the module documentation says how each maps
    onto ranvier.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers.
    solver : {'adam', 'sgd'}, default='adam'
        'lbfgs' is not available (ValueError).
    alpha : float, default=0.0001
        L2 penalty, as scikit-learn defines it (``0.5 * alpha * ||W||^2 / n_batch`` per batch);
        ranvier uses ``L2(alpha / (2 * batch_size))`` on every kernel.
    batch_size : int or 'auto', default='auto'
        'auto' is ``min(200, n_samples)``; larger values are clipped with a warning.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        SGD learning-rate schedule (ignored by adam).
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the samples every epoch (in C++).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the early-stopping split and the shuffling.
    tol : float, default=1e-4
    verbose : bool, default=False
        Print scikit-learn's per-iteration lines.
    warm_start : bool, default=False
        Continue from the previous fit's weights (with a new optimizer, as scikit-learn).
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Stop on the validation score of a held-out ``validation_fraction`` and restore the best weights.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    model_ : ranvier.Sequential
        The trained network.
    coefs_, intercepts_ : list of ndarray (float32)
        Copies of the weights in scikit-learn's layout.
    loss_ : float
        Loss of the last epoch.
    loss_curve_ : list of float
        Loss per epoch (scikit-learn's definition, L2 term included).
    best_loss_ : float or None
        Best training loss (None with early_stopping).
    validation_scores_ : list of float or None
        Validation score per epoch with early_stopping, else None.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last fit call.
    t_ : int
        Training samples seen.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names of a DataFrame X (checked at predict).
    n_layers_, n_outputs_ : int
    out_activation_ : str
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier trained by ranvier (scikit-learn's API).

    Binary, multiclass and multilabel (indicator matrix ``y``) classification with the
    log-loss, as :class:`sklearn.neural_network.MLPClassifier`.
    """ + _PARAMS_DOC + _ATTRIBUTES_DOC + """    classes_ : ndarray
        The class labels.
    """

    _is_classifier = True

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains the network on ``X`` (n_samples, n_features) and labels ``y``
        (n_samples,) or an indicator matrix (n_samples, n_labels)."""
        self._fit(X, y, sample_weight, incremental=False)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None,
                    classes: Optional[ArrayLike] = None) -> "MLPClassifier":
        """One epoch over ``X``, ``y``; ``classes`` (all labels) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray]:
        Xa, ya = _validate_data(self, _array_input(X), _array_input(y), multi_output=True, dtype=np.float32,
                                order="C", reset=reset)
        if ya.ndim == 2 and ya.shape[1] == 1:
            ya = column_or_1d(ya, warn=True)
        check_classification_targets(ya)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(ya)
            self.classes_ = self._label_binarizer.classes_
        else:
            found = unique_labels(ya)
            if self.warm_start and not incremental:
                if set(found) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {found}")
            elif len(np.setdiff1d(found, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {found}.")
        if len(self.classes_) < 2 and self._label_binarizer.y_type_ != "multilabel-indicator":
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes in y; got only one class: "
                             f"{self.classes_[0]!r}")
        Y = self._label_binarizer.transform(ya)
        return Xa, np.asarray(Y)

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss_spec(self) -> Tuple[str, float, Optional[List[str]]]:
        if self.out_activation_ == "softmax":
            return "sparse_categorical_crossentropy", 1.0, None
        # binary: one logistic unit; multilabel: sklearn sums the log-loss over the labels
        return "binary_crossentropy", float(self.n_outputs_), None

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return np.argmax(y, axis=1).astype(np.float32).reshape(-1, 1)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _validation_targets(self, y: Optional[np.ndarray]) -> Any:
        return None if y is None else self._label_binarizer.inverse_transform(y)

    def _score_arrays(self, X: np.ndarray, y: Any) -> float:
        p = self.model_.predict(X, batch_size=min(X.shape[0], 1024), verbose=0)
        if not np.isfinite(p).all():
            return float("nan")
        return float(accuracy_score(y, self._labels_from_output(p)))

    def _labels_from_output(self, p: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            p = p.ravel()
        return self._label_binarizer.inverse_transform(p)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels (n_samples,), or an indicator matrix for multilabel."""
        return self._labels_from_output(self._forward(X))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), float64; per-label for multilabel."""
        p = self._forward(X)
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            p1 = p.ravel()
            return np.vstack([1 - p1, p1]).T
        return p

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """``log(predict_proba(X))``."""
        return np.log(self.predict_proba(X))

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"multilabel": True}

    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained by ranvier (scikit-learn's API).

    Squared error (default) or Poisson loss, one or several outputs, as
    :class:`sklearn.neural_network.MLPRegressor`.
    """ + _PARAMS_DOC.replace("    ----------\n", """    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'poisson' uses an exponential output and needs ``y >= 0``.
""", 1) + _ATTRIBUTES_DOC

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: Union[int, str] = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change)
        self.loss = loss

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains the network on ``X`` (n_samples, n_features) and targets ``y``
        (n_samples,) or (n_samples, n_outputs)."""
        self._fit(X, y, sample_weight, incremental=False)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """One epoch over ``X``, ``y`` (builds the network on the first call)."""
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _check_loss_param(self) -> None:
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"The 'loss' parameter of MLPRegressor must be a str among "
                             f"{{'poisson', 'squared_error'}}. Got {self.loss!r} instead.")

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool,
                        classes: Optional[ArrayLike] = None) -> Tuple[np.ndarray, np.ndarray]:
        Xa, ya = _validate_data(self, _array_input(X), _array_input(y), multi_output=True, y_numeric=True,
                                dtype=np.float32, order="C", reset=reset)
        if ya.ndim == 2 and ya.shape[1] == 1:
            ya = column_or_1d(ya, warn=True)
        if self.loss == "poisson" and np.any(ya < 0):
            raise ValueError("MLPRegressor(loss='poisson') needs non-negative targets y")
        if ya.ndim == 1:
            ya = ya.reshape(-1, 1)
        return Xa, np.ascontiguousarray(ya, dtype=np.float32)

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _loss_spec(self) -> Tuple[str, float, Optional[List[str]]]:
        k = float(self.n_outputs_)
        if self.loss == "poisson":  # sklearn sums the deviance over the outputs
            return "poisson", k, None
        # sklearn back-propagates 0.5 * sum over outputs of the squared error
        return "mse", 0.5 * k, (["mse"] if k > 1 else None)

    def _loss_offset(self, y: np.ndarray, sw: Optional[np.ndarray]) -> Tuple[float, Optional[float]]:
        if self.loss == "poisson":
            # sklearn's half deviance = Keras's poisson + (xlogy(y, y) - y), a constant per sample
            y64 = y.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                c = np.where(y64 > 0, y64 * np.log(np.where(y64 > 0, y64, 1.0)), 0.0) - y64
            per_sample = c.sum(axis=1)
            w = None if sw is None else sw.astype(np.float64)
            return float(np.average(per_sample, weights=w)), None
        k = self.n_outputs_
        # reported loss: 0.5 * mse (mean over outputs), trained loss 0.5 * k * mse
        return 0.0, (0.5 * (k - 1) if k > 1 else None)

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        return y

    def _validation_targets(self, y: Optional[np.ndarray]) -> Any:
        if y is None:
            return None
        return y.ravel() if y.shape[1] == 1 else y

    def _score_arrays(self, X: np.ndarray, y: Any) -> float:
        p = self.model_.predict(X, batch_size=min(X.shape[0], 1024), verbose=0)
        if not np.isfinite(p).all():
            return float("nan")
        return float(r2_score(y, p.ravel() if p.shape[1] == 1 else p))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions (float64): (n_samples,) for one output, else (n_samples, n_outputs)."""
        p = self._forward(X)
        return p.ravel() if p.shape[1] == 1 else p

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"multioutput": True}

    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
