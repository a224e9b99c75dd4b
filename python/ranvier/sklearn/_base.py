"""The estimators' common machinery: the scikit-learn imports (a clear ImportError
without it), data validation, the per-epoch bookkeeping and ``_BaseMLP``."""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

try:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted
except ImportError as _e:  # pragma: no cover - exercised in an environment without sklearn
    raise ImportError(
        "ranvier.sklearn needs scikit-learn, an optional extra: pip install ranvier[sklearn] "
        f"(or pip install 'scikit-learn>=1.2'); the import failed with: {_e}") from _e

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.2 .. 1.5
    _sk_validate_data = None

from .. import _checks, _random
from .. import callbacks as _callbacks
from .. import layers as _layers
from .. import optimizers as _optimizers
from .. import regularizers as _regularizers
from ..models import Sequential


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
