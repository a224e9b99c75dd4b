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

The package: ``_base.py`` (the scikit-learn imports, data validation, ``_BaseMLP``),
``_estimators.py`` (``MLPClassifier``, ``MLPRegressor``).
"""
from __future__ import annotations

from ._base import _BaseMLP
from ._estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]

for _cls in (MLPClassifier, MLPRegressor, _BaseMLP):  # their public home, as before the split (pickles)
    _cls.__module__ = __name__
del _cls
