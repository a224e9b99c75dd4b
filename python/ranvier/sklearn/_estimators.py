"""The estimators: ``MLPClassifier`` and ``MLPRegressor``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets,
                                      type_of_target, unique_labels)
from sklearn.utils.validation import column_or_1d

from ._base import _array_input, _BaseMLP, _validate_data


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
