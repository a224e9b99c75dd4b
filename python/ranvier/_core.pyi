# Type stub of the compiled module ranvier._core, generated with pybind11-stubgen 3.0.0:
#   pip install pybind11-stubgen==3.0.0
#   pybind11-stubgen ranvier._core -o /tmp/stubs --numpy-array-use-type-var
#   cp /tmp/stubs/ranvier/_core.pyi python/ranvier/_core.pyi   (then re-add this header)
# CI checks it against the built module (mypy.stubtest + a name comparison; see .ci/run).
# Regenerate whenever a binding is added or changed.
"""
ranvier's compiled core (C++/SIMD/OpenMP). Use the `ranvier` package, not this module.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['ActivationLayer', 'BatchNormalization', 'Dense', 'Flatten', 'Layer', 'LayerNormalization', 'Metric', 'MetricKind', 'MetricParams', 'Network', 'Optimizer', 'OptimizerConfig', 'OptimizerKind', 'ScheduleConfig', 'ScheduleKind', 'Trainer', 'activation_backward', 'activation_backward_needs', 'activation_forward', 'activation_kind_names', 'activation_table', 'all_finite', 'build_info', 'compiled_isas', 'gemm_blocking', 'get_num_threads', 'io_atomic_write', 'io_check_model', 'io_check_model_metadata', 'io_cpp_load_check', 'io_cpp_predict', 'io_cpp_resave', 'io_json_normalize', 'io_parse_header', 'io_serialize_safetensors', 'io_write_safetensors', 'isa', 'kernel_names', 'layer_check_config', 'layer_class_names', 'layer_from_config', 'layer_merge_shape', 'loss_forward_backward', 'loss_forward_backward_fused', 'loss_fuses_with', 'loss_kind_names', 'loss_table', 'matmul', 'max_num_threads', 'merge_layer_class_names', 'metric_direction', 'metric_higher_is_better', 'metric_kind_names', 'optimizer_keras_defaults', 'optimizer_kinds', 'optimizer_parallel_threshold', 'python_metric', 'schedule_value', 'schedule_value_real', 'set_isa', 'set_num_threads', 'set_optimizer_parallel_threshold', 'supported_isas', 'update_triad', 'validate_schedule', 'vmath', 'vmath_names']
class OptimizerKind:
    """
    Members: the rows of cpp/src/optimizers/optimizers.def (see optimizer_kinds()).
    """
    __members__: typing.ClassVar[dict[str, OptimizerKind]]
    @typing.overload
    def __eq__(self, other: OptimizerKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: OptimizerKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ScheduleKind:
    """
    Members:
    
      constant
    
      exponential_decay
    
      piecewise_constant_decay
    
      inverse_time_decay
    
      polynomial_decay
    
      cosine_decay
    
      cosine_decay_restarts
    
      external
    """
    __members__: typing.ClassVar[dict[str, ScheduleKind]]
    constant: typing.ClassVar[ScheduleKind]
    cosine_decay: typing.ClassVar[ScheduleKind]
    cosine_decay_restarts: typing.ClassVar[ScheduleKind]
    exponential_decay: typing.ClassVar[ScheduleKind]
    external: typing.ClassVar[ScheduleKind]
    inverse_time_decay: typing.ClassVar[ScheduleKind]
    piecewise_constant_decay: typing.ClassVar[ScheduleKind]
    polynomial_decay: typing.ClassVar[ScheduleKind]
    @typing.overload
    def __eq__(self, other: ScheduleKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: ScheduleKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ScheduleConfig:
    cycle: bool
    has_warmup: bool
    kind: ScheduleKind
    staircase: bool
    def __init__(self) -> None:
        ...
    @property
    def alpha(self) -> float:
        ...
    @alpha.setter
    def alpha(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def boundaries(self) -> list[float]:
        ...
    @boundaries.setter
    def boundaries(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def decay_rate(self) -> float:
        ...
    @decay_rate.setter
    def decay_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def decay_steps(self) -> float:
        ...
    @decay_steps.setter
    def decay_steps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def end_learning_rate(self) -> float:
        ...
    @end_learning_rate.setter
    def end_learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def initial_learning_rate(self) -> float:
        ...
    @initial_learning_rate.setter
    def initial_learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def m_mul(self) -> float:
        ...
    @m_mul.setter
    def m_mul(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def power(self) -> float:
        ...
    @power.setter
    def power(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def t_mul(self) -> float:
        ...
    @t_mul.setter
    def t_mul(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def values(self) -> list[float]:
        ...
    @values.setter
    def values(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def warmup_steps(self) -> float:
        ...
    @warmup_steps.setter
    def warmup_steps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def warmup_target(self) -> float:
        ...
    @warmup_target.setter
    def warmup_target(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class OptimizerConfig:
    amsgrad: bool
    centered: bool
    kind: OptimizerKind
    nesterov: bool
    schedule: ScheduleConfig
    use_ema: bool
    def __init__(self) -> None:
        ...
    @property
    def beta(self) -> float:
        ...
    @beta.setter
    def beta(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta_1(self) -> float:
        ...
    @beta_1.setter
    def beta_1(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta_2(self) -> float:
        ...
    @beta_2.setter
    def beta_2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipnorm(self) -> float:
        ...
    @clipnorm.setter
    def clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipvalue(self) -> float:
        ...
    @clipvalue.setter
    def clipvalue(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ema_momentum(self) -> float:
        ...
    @ema_momentum.setter
    def ema_momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ema_overwrite_frequency(self) -> int:
        ...
    @ema_overwrite_frequency.setter
    def ema_overwrite_frequency(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def epsilon(self) -> float:
        ...
    @epsilon.setter
    def epsilon(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def global_clipnorm(self) -> float:
        ...
    @global_clipnorm.setter
    def global_clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gradient_accumulation_steps(self) -> int:
        ...
    @gradient_accumulation_steps.setter
    def gradient_accumulation_steps(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def initial_accumulator_value(self) -> float:
        ...
    @initial_accumulator_value.setter
    def initial_accumulator_value(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l1_regularization_strength(self) -> float:
        ...
    @l1_regularization_strength.setter
    def l1_regularization_strength(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l2_regularization_strength(self) -> float:
        ...
    @l2_regularization_strength.setter
    def l2_regularization_strength(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l2_shrinkage_regularization_strength(self) -> float:
        ...
    @l2_shrinkage_regularization_strength.setter
    def l2_shrinkage_regularization_strength(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def learning_rate(self) -> float:
        ...
    @learning_rate.setter
    def learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def learning_rate_power(self) -> float:
        ...
    @learning_rate_power.setter
    def learning_rate_power(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def loss_scale_factor(self) -> float:
        ...
    @loss_scale_factor.setter
    def loss_scale_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rho(self) -> float:
        ...
    @rho.setter
    def rho(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def weight_decay(self) -> float:
        ...
    @weight_decay.setter
    def weight_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Optimizer:
    def __init__(self, config: OptimizerConfig) -> None:
        ...
    def apply(self, w: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        ...
    def apply_masked(self, w: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], active: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8]) -> None:
        ...
    def build(self, n: typing.SupportsInt | typing.SupportsIndex, segments: collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, bool]]) -> None:
        ...
    def current_learning_rate(self) -> float:
        ...
    def finalize_ema(self, w: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        ...
    def next_is_update_step(self) -> bool:
        ...
    def scalar(self, name: str) -> float:
        ...
    def scalar_names(self) -> list[str]:
        ...
    def set_learning_rate(self, lr: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_scalar(self, name: str, value: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_schedule(self, schedule: ScheduleConfig, learning_rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def slots(self) -> dict:
        ...
    @property
    def built(self) -> bool:
        ...
    @property
    def config(self) -> OptimizerConfig:
        ...
    @property
    def iterations(self) -> int:
        ...
    @iterations.setter
    def iterations(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def raw_iterations(self) -> int:
        ...
    @raw_iterations.setter
    def raw_iterations(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def size(self) -> int:
        ...
    @property
    def uses_external_lr(self) -> bool:
        ...
    @property
    def uses_schedule(self) -> bool:
        ...
class Layer:
    trainable: bool
    def apply_constraints(self) -> None:
        ...
    def backward(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], dy: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], dx: typing.Any = None, dy_is_preactivation: bool = False) -> None:
        ...
    def backward_inputs(self, xs: list, y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], dy: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], dxs: list, dy_is_preactivation: bool = False) -> None:
        ...
    def bind(self, params: list, grads: list) -> None:
        ...
    def build(self, in_features: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def build_inputs(self, in_features: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> int:
        ...
    def forward(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], training: bool = False, step: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
        ...
    def forward_inputs(self, xs: list, y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], training: bool = False, step: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
        ...
    def input_features(self, i: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def param_specs(self) -> list:
        ...
    def regularization(self, add_grad: bool = False) -> float:
        ...
    def reserve(self, max_batch: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def in_features(self) -> int:
        ...
    @property
    def num_inputs(self) -> int:
        ...
    @property
    def out_features(self) -> int:
        ...
    @property
    def output_activation(self) -> int:
        ...
    @property
    def type_name(self) -> str:
        ...
class Dense(Layer):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, activation: typing.SupportsInt | typing.SupportsIndex = 0, negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, use_bias: bool = True, kernel_regularizer: tuple = (0.0, 0.0), bias_regularizer: tuple = (0.0, 0.0), activity_regularizer: tuple = (0.0, 0.0), kernel_constraint: tuple = (0, 2.0, 0.0, 1.0, 0), bias_constraint: tuple = (0, 2.0, 0.0, 1.0, 0), bf16: bool = False) -> None:
        ...
    @property
    def bf16(self) -> bool:
        ...
class BatchNormalization(Layer):
    def __init__(self, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.99, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.0010000000474974513, center: bool = True, scale: bool = True, gamma_regularizer: tuple = (0.0, 0.0), beta_regularizer: tuple = (0.0, 0.0), gamma_constraint: tuple = (0, 2.0, 0.0, 1.0, 0), beta_constraint: tuple = (0, 2.0, 0.0, 1.0, 0)) -> None:
        ...
class LayerNormalization(Layer):
    def __init__(self, epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.0010000000474974513, center: bool = True, scale: bool = True, gamma_regularizer: tuple = (0.0, 0.0), beta_regularizer: tuple = (0.0, 0.0), gamma_constraint: tuple = (0, 2.0, 0.0, 1.0, 0), beta_constraint: tuple = (0, 2.0, 0.0, 1.0, 0)) -> None:
        ...
class Flatten(Layer):
    def __init__(self, sample_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], channels_first: bool = False) -> None:
        ...
    @property
    def channels_first(self) -> bool:
        ...
class ActivationLayer(Layer):
    def __init__(self, activation: typing.SupportsInt | typing.SupportsIndex, negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, type_name: str = 'Activation') -> None:
        ...
class MetricKind:
    """
    Members:
    
      binary_accuracy
    
      categorical_accuracy
    
      sparse_categorical_accuracy
    
      top_k_categorical_accuracy
    
      sparse_top_k_categorical_accuracy
    
      mean_squared_error
    
      mean_absolute_error
    
      mean_absolute_percentage_error
    
      mean_squared_logarithmic_error
    
      root_mean_squared_error
    
      auc
    
      precision
    
      recall
    
      accuracy
    
      binary_crossentropy
    
      categorical_crossentropy
    
      sparse_categorical_crossentropy
    
      kl_divergence
    
      poisson
    
      hinge
    
      squared_hinge
    
      categorical_hinge
    
      log_cosh_error
    
      cosine_similarity
    
      true_positives
    
      false_positives
    
      true_negatives
    
      false_negatives
    
      precision_at_recall
    
      recall_at_precision
    
      sensitivity_at_specificity
    
      specificity_at_sensitivity
    
      r2_score
    
      fbeta_score
    """
    __members__: typing.ClassVar[dict[str, MetricKind]]
    accuracy: typing.ClassVar[MetricKind]
    auc: typing.ClassVar[MetricKind]
    binary_accuracy: typing.ClassVar[MetricKind]
    binary_crossentropy: typing.ClassVar[MetricKind]
    categorical_accuracy: typing.ClassVar[MetricKind]
    categorical_crossentropy: typing.ClassVar[MetricKind]
    categorical_hinge: typing.ClassVar[MetricKind]
    cosine_similarity: typing.ClassVar[MetricKind]
    false_negatives: typing.ClassVar[MetricKind]
    false_positives: typing.ClassVar[MetricKind]
    fbeta_score: typing.ClassVar[MetricKind]
    hinge: typing.ClassVar[MetricKind]
    kl_divergence: typing.ClassVar[MetricKind]
    log_cosh_error: typing.ClassVar[MetricKind]
    mean_absolute_error: typing.ClassVar[MetricKind]
    mean_absolute_percentage_error: typing.ClassVar[MetricKind]
    mean_squared_error: typing.ClassVar[MetricKind]
    mean_squared_logarithmic_error: typing.ClassVar[MetricKind]
    poisson: typing.ClassVar[MetricKind]
    precision: typing.ClassVar[MetricKind]
    precision_at_recall: typing.ClassVar[MetricKind]
    r2_score: typing.ClassVar[MetricKind]
    recall: typing.ClassVar[MetricKind]
    recall_at_precision: typing.ClassVar[MetricKind]
    root_mean_squared_error: typing.ClassVar[MetricKind]
    sensitivity_at_specificity: typing.ClassVar[MetricKind]
    sparse_categorical_accuracy: typing.ClassVar[MetricKind]
    sparse_categorical_crossentropy: typing.ClassVar[MetricKind]
    sparse_top_k_categorical_accuracy: typing.ClassVar[MetricKind]
    specificity_at_sensitivity: typing.ClassVar[MetricKind]
    squared_hinge: typing.ClassVar[MetricKind]
    top_k_categorical_accuracy: typing.ClassVar[MetricKind]
    true_negatives: typing.ClassVar[MetricKind]
    true_positives: typing.ClassVar[MetricKind]
    @typing.overload
    def __eq__(self, other: MetricKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: MetricKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class MetricParams:
    from_logits: bool
    has_ignore_class: bool
    multi_label: bool
    def __init__(self) -> None:
        ...
    @property
    def average(self) -> int:
        ...
    @average.setter
    def average(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def beta(self) -> float:
        ...
    @beta.setter
    def beta(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def class_aggregation(self) -> int:
        ...
    @class_aggregation.setter
    def class_aggregation(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def class_id(self) -> int:
        ...
    @class_id.setter
    def class_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def curve(self) -> int:
        ...
    @curve.setter
    def curve(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ignore_class(self) -> int:
        ...
    @ignore_class.setter
    def ignore_class(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def k(self) -> int:
        ...
    @k.setter
    def k(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def label_smoothing(self) -> float:
        ...
    @label_smoothing.setter
    def label_smoothing(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def label_weights(self) -> list[float]:
        ...
    @label_weights.setter
    def label_weights(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def num_labels(self) -> int:
        ...
    @num_labels.setter
    def num_labels(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_regressors(self) -> int:
        ...
    @num_regressors.setter
    def num_regressors(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_thresholds(self) -> int:
        ...
    @num_thresholds.setter
    def num_thresholds(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def summation_method(self) -> int:
        ...
    @summation_method.setter
    def summation_method(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold(self) -> float:
        ...
    @threshold.setter
    def threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def thresholds(self) -> list[float]:
        ...
    @thresholds.setter
    def thresholds(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def top_k(self) -> int:
        ...
    @top_k.setter
    def top_k(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def value(self) -> float:
        ...
    @value.setter
    def value(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Metric:
    def __init__(self, kind: str, params: MetricParams) -> None:
        ...
    def prepare(self, k: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def reset(self) -> None:
        ...
    def result(self) -> float:
        ...
    def result_values(self) -> list[float]:
        ...
    def set_state(self, state: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    def state(self) -> list[float]:
        ...
    def update(self, y_true: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_pred: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], sample_weight: typing.Any = None) -> None:
        ...
class Network:
    def __init__(self) -> None:
        ...
    def add(self, arg0: Layer) -> None:
        ...
    def add_input(self, features: typing.SupportsInt | typing.SupportsIndex, name: str = '') -> int:
        ...
    def bind_all(self) -> None:
        ...
    def add_node(self, layer: Layer, inputs: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], shares_with: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
        ...
    @typing.overload
    def finalize(self, input_features: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def finalize(self) -> None:
        ...
    def grads(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def input_features(self, i: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def input_name(self, i: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def lock_inference(self) -> None:
        ...
    def nodes(self) -> list:
        ...
    def num_inputs(self) -> int:
        ...
    def num_outputs(self) -> int:
        ...
    def num_tensors(self) -> int:
        ...
    def output_features(self, j: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def outputs(self) -> list[int]:
        ...
    def params(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def predict(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], batch_size: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def predict_fast(self, x: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def predict_multi(self, xs: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float32]], batch_size: typing.SupportsInt | typing.SupportsIndex) -> list:
        ...
    def release_training(self) -> None:
        ...
    def set_outputs(self, tensors: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    def state(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def tensor_features(self, t: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def tensors(self) -> list:
        ...
    def try_acquire_training(self) -> bool:
        ...
    def unlock_inference(self) -> None:
        ...
    def workspace_plan(self) -> dict:
        ...
    @property
    def finalized(self) -> bool:
        ...
    @property
    def in_features(self) -> int:
        ...
    @property
    def out_features(self) -> int:
        ...
    @property
    def train_steps(self) -> int:
        ...
    @train_steps.setter
    def train_steps(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Trainer:
    @typing.overload
    def __init__(self, arg0: Network, arg1: Optimizer, arg2: typing.SupportsInt | typing.SupportsIndex, arg3: dict, arg4: typing.SupportsFloat | typing.SupportsIndex, arg5: collections.abc.Sequence[Metric], arg6: collections.abc.Sequence[Metric]) -> None:
        ...
    @typing.overload
    def __init__(self, net: Network, opt: Optimizer, losses: list, metrics: collections.abc.Sequence[collections.abc.Sequence[Metric]], weighted: collections.abc.Sequence[collections.abc.Sequence[Metric]]) -> None:
        ...
    def begin_epoch(self, arg0: bool, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def clear_train_data(self) -> None:
        ...
    def evaluate(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, reset: bool = True) -> float:
        ...
    def mean_loss(self) -> float:
        ...
    def num_outputs(self) -> int:
        ...
    def output_mean_losses(self) -> list[float]:
        ...
    def profile(self) -> dict:
        ...
    def reset_metrics(self) -> None:
        ...
    def reset_profile(self) -> None:
        ...
    def run(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsFloat | typing.SupportsIndex) -> int:
        ...
    def set_grad_hook(self, fn: typing.Any) -> None:
        ...
    def set_profiling(self, on: bool) -> None:
        ...
    def set_shard(self, rank: typing.SupportsInt | typing.SupportsIndex, size: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_train_data(self, arg0: typing.Any, arg1: typing.Any, arg2: typing.Any, arg3: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def step_in_epoch(self) -> int:
        ...
    def steps_per_epoch(self) -> int:
        ...
    def train_batch(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, reset: bool = True) -> float:
        ...
def _alloc_fault_arm(nth: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def _alloc_fault_calls() -> int:
    ...
def _alloc_fault_count_only(on: bool) -> None:
    ...
def _alloc_fault_fired() -> bool:
    ...
def _c_api_addresses() -> dict:
    ...
def _constraint_apply(arg0: tuple, arg1: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], arg2: typing.SupportsInt | typing.SupportsIndex, arg3: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def _fingerprint64(arg0: bytes) -> int:
    ...
def _gemm_tuning(parallel_min_flops: typing.SupportsFloat | typing.SupportsIndex = -1.0, pack_a: typing.SupportsInt | typing.SupportsIndex = -1, pack_b: typing.SupportsInt | typing.SupportsIndex = -1, reset: bool = False, kc: typing.SupportsInt | typing.SupportsIndex = -1, mc: typing.SupportsInt | typing.SupportsIndex = -1, nc: typing.SupportsInt | typing.SupportsIndex = -1, ukernel: str = '') -> dict:
    ...
def _gemm_ukernel_for(m: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, transpose_a: bool = False, transpose_b: bool = False) -> dict:
    ...
def _gemm_ukernels() -> list[str]:
    ...
def _bgemm_full(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], c: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], transpose_a: bool = False, transpose_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, relu: bool = False, nthreads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def _bgemm_native() -> bool:
    ...
def _pool_tuning(chunks_per_thread: typing.SupportsInt | typing.SupportsIndex = -1, gemm_chunks_per_thread: typing.SupportsInt | typing.SupportsIndex = -1, adaptive: typing.SupportsInt | typing.SupportsIndex = -1, spin_us: typing.SupportsInt | typing.SupportsIndex = -1, test_jitter_us: typing.SupportsInt | typing.SupportsIndex = -1, min_gain: typing.SupportsFloat | typing.SupportsIndex = -1.0, reset: bool = False) -> dict:
    ...
def _sgemm_full(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], c: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], transpose_a: bool = False, transpose_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, relu: bool = False, nthreads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def _siphash24(arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsInt | typing.SupportsIndex, arg2: bytes) -> int:
    ...
def _round_bf16(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> typing.Any:
    ...
def activation_backward(kind: typing.SupportsInt | typing.SupportsIndex, x: typing.Any, y: typing.Any, dy: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    dx = dL/dx from dy = dL/dy and the forward pass's x and/or y (None where not needed, see activation_backward_needs). `out` may be dy (in place).
    """
def activation_backward_needs(kind: typing.SupportsInt | typing.SupportsIndex, negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> tuple[bool, bool]:
    """
    (needs_input, needs_output) of activation_backward.
    """
def activation_forward(kind: typing.SupportsInt | typing.SupportsIndex, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    y = f(x) (softmax kinds along the last axis). `out` may be x (in place).
    """
def activation_kind_names() -> list[str]:
    """
    Names of ranvier::ActKind values, indexed by kind.
    """
def activation_table() -> list:
    """
    The rows of activations.def in kind order: {name, kind, rowwise, cost, reads, params (name -> default), aliases}.
    """
def all_finite(arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> bool:
    ...
def build_info() -> dict:
    ...
def compiled_isas() -> list[str]:
    ...
def gemm_blocking() -> dict:
    ...
def get_num_threads() -> int:
    ...
def io_atomic_write(path: str | bytes, chunks: collections.abc.Sequence[typing.Any], sync: typing.Any = None) -> None:
    """
    Writes the buffers to path atomically (the rules of io_write_safetensors). OSError on failure.
    """
def io_check_model(prefix: bytes, file_size: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def io_check_model_metadata(metadata: collections.abc.Sequence[tuple[str, str]], file_floats: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Checks a model file's metadata (architecture, build_configs, metric sizes) against the
    file's weight count and the load budget; ValueError naming what is too large.
    """
def io_cpp_load_check(path: str) -> tuple[int, int]:
    ...
def io_cpp_resave(src: str, dst: str) -> None:
    ...
def io_cpp_predict(path: str, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], batch_size: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    ...
def io_json_normalize(text: bytes, metadata_limits: bool = False) -> str:
    """
    Parses strict JSON and writes it back (metadata_limits: the value limit of a model file's
    metadata entries, io::metadata_value_limit).
    """
def io_parse_header(prefix: bytes, file_size: typing.SupportsInt | typing.SupportsIndex, ranvier_format: bool) -> dict:
    """
    Validates a safetensors header: prefix = the file's first 8 + N bytes (or fewer: the
    validator says what is missing), file_size = the whole file's size. Returns
    {header_len, data_start, data_len, tensors: [{name, dtype, shape, begin, end}], metadata}.
    Raises ValueError naming the problem.
    """
def io_serialize_safetensors(tensors: collections.abc.Sequence[tuple[str, numpy.typing.NDArray[numpy.float32]]], metadata: collections.abc.Sequence[tuple[str, str]]) -> bytes:
    """
    The bytes io_write_safetensors would write.
    """
def io_write_safetensors(path: str | bytes, tensors: collections.abc.Sequence[tuple[str, numpy.typing.NDArray[numpy.float32]]], metadata: collections.abc.Sequence[tuple[str, str]], sync: typing.Any = None) -> None:
    """
    Writes a safetensors file atomically (symlinks: the target is written; see io/safetensors.h).
    tensors: [(name, C-contiguous float32 array)], metadata: [(key, value)], sync: None or a
    callable(fd) that makes the temporary file durable. OSError on I/O failure.
    """
def isa() -> str:
    ...
def kernel_names() -> dict:
    ...
def layer_check_config(class_name: str, config: dict) -> None:
    """The core constructors' checks on a layer's arguments (ValueError with their message)."""
def call_seed(seed: typing.SupportsInt | typing.SupportsIndex, call: typing.SupportsInt | typing.SupportsIndex) -> int:
    """The seed of a random layer's `call`-th call in a graph (call 0: the layer's own seed)."""
def layer_class_names() -> list[str]:
    """The layer classes of the C++ layer table (cpp/src/layers/layers.def)."""
def layer_from_config(class_name: str, config: dict, seed: typing.SupportsInt | typing.SupportsIndex = 0, sample_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = ..., input_shapes: collections.abc.Sequence[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]] = ...) -> Layer:
    """The layer of `config` through its table row, constructed (build() it next)."""
def layer_merge_shape(class_name: str, config: dict, input_shapes: collections.abc.Sequence[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]]) -> list[int]:
    ...
def loss_forward_backward(kind: typing.SupportsInt | typing.SupportsIndex, y_true: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_pred: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], sample_weight: typing.Any = None, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, compute_grad: bool = True, from_logits: bool = False, label_smoothing: typing.SupportsFloat | typing.SupportsIndex = 0.0, delta: typing.SupportsFloat | typing.SupportsIndex = 1.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.25, gamma: typing.SupportsFloat | typing.SupportsIndex = 2.0, apply_class_balancing: bool = False) -> tuple[numpy.typing.NDArray[numpy.float32], typing.Any]:
    """
    (per_sample (n,), grad (n, k) or None): per-sample losses before weights, and d(sum_i w_i l_i grad_scale)/d y_pred.
    """
def loss_forward_backward_fused(kind: typing.SupportsInt | typing.SupportsIndex, act_kind: typing.SupportsInt | typing.SupportsIndex, y_true: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_pred: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], sample_weight: typing.Any = None, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, from_logits: bool = False, label_smoothing: typing.SupportsFloat | typing.SupportsIndex = 0.0, delta: typing.SupportsFloat | typing.SupportsIndex = 1.0, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.25, gamma: typing.SupportsFloat | typing.SupportsIndex = 2.0, apply_class_balancing: bool = False) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    (per_sample, grad_logits): y_pred is the activation's output; the gradient is with respect to its input (the logits), from the stable fused form.
    """
def loss_fuses_with(kind: typing.SupportsInt | typing.SupportsIndex, act_kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool = False) -> bool:
    ...
def lookup_encode(layer: Layer, keys: numpy.ndarray, indices: bool = False) -> numpy.ndarray:
    ...
def lookup_info(layer: Layer) -> tuple:
    ...
def loss_kind_names() -> list[str]:
    """
    Names of ranvier::LossKind values, indexed by kind.
    """
def loss_table() -> list:
    """
    The rows of losses.def in kind order: {name, class_name, kind, cost, labels, params (name -> default; booleans 0/1), aliases (Keras's), file_aliases (model files only)}.
    """
def matmul(a: typing.Any, b: typing.Any, transpose_a: bool = False, transpose_b: bool = False) -> typing.Any:
    ...
def metric_direction(arg0: str) -> int:
    ...
def metric_higher_is_better(arg0: str) -> bool:
    ...
def metric_kind_names() -> list[str]:
    ...
def python_metric(update: typing.Any, reset: typing.Any) -> Metric:
    ...
def optimizer_kinds() -> list[tuple[str, str, list[tuple[str, bool, typing.Any]], list[tuple[str, int]]]]:
    ...
def optimizer_keras_defaults(arg0: OptimizerKind) -> OptimizerConfig:
    ...
def optimizer_parallel_threshold() -> int:
    ...
def schedule_value(schedule: ScheduleConfig, step: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def schedule_value_real(schedule: ScheduleConfig, step: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def set_isa(arg0: str) -> None:
    ...
def max_num_threads() -> int:
    ...
def merge_layer_class_names() -> list[str]:
    ...
def set_num_threads(arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def set_optimizer_parallel_threshold(elements: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def supported_isas() -> list[str]:
    ...
def update_triad(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], c: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], s: typing.SupportsFloat | typing.SupportsIndex, nthreads: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def validate_schedule(arg0: ScheduleConfig) -> None:
    ...
def vmath(name: str, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    The vectorized math function `name` of the active ISA, elementwise.
    """
def vmath_names() -> list[str]:
    ...
