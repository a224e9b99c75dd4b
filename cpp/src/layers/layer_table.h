// layers/layer_table: the one list of layer classes (layers/layers.def) and what each row
// gives: a layer from its Keras config, the weights it will hold, whether it is seeded.
// Everything that builds layers by class name goes through here: io/model_io (files),
// api/model.cpp (the C++ API), the bindings (Python's arguments checks and the layers
// Python builds by name).
//
// A new layer: its class and its row (`extern const LayerRow layer_row_<Class>`) in its
// own .cpp file under layers/, and one RV_LAYER(<Class>) line in layers.def.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config_reader.h"
#include "config/json.h"
#include "layers/layer.h"
#include "layers/weight_rules.h"

namespace ranvier {

// What a factory needs besides the config.
struct LayerArgs {
  std::int64_t in_features = 0;  // the input width (0: unknown, the config is only checked)
  std::uint64_t seed = 0;        // seeded layers: the seed when the config has none
  // the samples' dimensions when the layer is the first one (Flatten's channels_first), else null
  const std::vector<std::int64_t>* sample_shape = nullptr;
  bool bf16 = false;             // the config's dtype policy is mixed_bfloat16
  bool f16 = false;              // the config's dtype policy is mixed_float16
  // Merge layers (a row with merge_shape): each input's per-sample shape (no batch axis), in
  // input order. make_layer builds such a layer with build_inputs for their widths and
  // refuses it without them. Null for a one-input layer (or when only checking a config).
  const std::vector<std::vector<std::int64_t>>* input_shapes = nullptr;
  std::string where;             // "layer 'dense' (Dense)", for messages
};

struct LayerRow {
  const char* class_name;  // Keras's class name, as in a config's "class_name"
  // The layer of `config` (constructed, not built). Throws std::invalid_argument naming the
  // argument (the core constructors' checks, with Keras's messages).
  std::shared_ptr<Layer> (*from_config)(const json::Value& config, const LayerArgs& args);
  // Weight values the layer will hold for `in` input features (checked arithmetic,
  // saturating at UINT64_MAX), and its output width in *out; null: none, out = in. Runs
  // before anything is allocated (the size check of a hostile model file).
  std::uint64_t (*param_count)(const json::Value& config, std::uint64_t in, std::uint64_t* out,
                               const std::string& where);
  // Draws random numbers in training (keyed by seed and step): the model gives it a seed
  // when its config has none, and saves that seed in the file ("layer_seeds").
  bool seeded;
  // Merge layers only (several inputs; null for every one-input layer): the output's
  // per-sample shape for inputs of the per-sample shapes `shapes` (no batch axis, one per
  // input). std::invalid_argument, starting with `where` and naming the shapes, when they
  // cannot be merged. Their param_count is null (no weights); the graph's size check and
  // shape inference read this instead.
  std::vector<std::int64_t> (*merge_shape)(const json::Value& config,
                                           const std::vector<std::vector<std::int64_t>>& shapes,
                                           const std::string& where) = nullptr;
};

#define RV_LAYER(cls) extern const LayerRow layer_row_##cls;
#include "layers/layers.def"
#undef RV_LAYER

// Every row, in layers.def order.
const std::vector<const LayerRow*>& layer_table();
// The row of `class_name`, or null.
const LayerRow* find_layer_row(const std::string& class_name);
// "Dense, Dropout, ...": the class names, for messages.
std::string layer_class_names();

// The layer of class `class_name` from its config, built for args.in_features (a merge
// layer: with build_inputs for the widths of args.input_shapes) and frozen
// when the config says "trainable": false. Errors: std::invalid_argument starting with
// args.where (an unknown class lists the known ones).
std::shared_ptr<Layer> make_layer(const std::string& class_name, const json::Value& config, LayerArgs args);

// Whether a layer of `class_name` takes the whole flattened sample as its row (its build
// width is the product of the sample's dimensions) rather than the last axis: Flatten,
// Reshape, Embedding (every id of the sample), CategoryEncoding in "one_hot" mode and the
// global pooling layers.
bool layer_takes_whole_sample(const std::string& class_name, const json::Value& config);

// Whether a layer of `class_name` needs its input's per-sample shape (LayerArgs::sample_shape)
// wherever it sits in a model, not only as the first layer: the global pooling layers.
bool layer_needs_sample_shape(const std::string& class_name);

// The per-sample shape (no batch axis) of a one-input layer's output, for an input of
// per-sample shape `in` and the layer's output row width `out_width` (0: unknown, then
// computed from `in` where the class says how). The id and shape layers (Embedding,
// CategoryEncoding, RepeatVector, Reshape), the global pooling layers and Flatten say; any other layer keeps
// `in` when its width is unchanged (elementwise) and is flat otherwise. Empty when unknown.
std::vector<std::int64_t> layer_output_sample_shape(const std::string& class_name, const json::Value& config,
                                                    const std::vector<std::int64_t>& in, std::int64_t out_width);

// The constructor checks of `class_name` on (a part of) its config, without building it:
// std::invalid_argument with the core's message (no `where` prefix), as the Python layers
// raise it from __init__.
void check_layer_config(const std::string& class_name, const json::Value& config);

// ---- config readers the rows share (messages start with `where`)
// A layer's dtype policy (Keras: a string, or {"class_name": "DTypePolicy", "config":
// {"name": ...}}): the compute dtype of "float32" (or none), "mixed_bfloat16" and
// "mixed_float16"; anything else is refused with the list of what ranvier computes.
enum class ComputeDtype : int { float32 = 0, bfloat16 = 1, float16 = 2 };
ComputeDtype parse_dtype_policy(const json::Value& config, const std::string& where);
// args.bf16 / args.f16 from the config's policy.
void set_compute_dtype(LayerArgs& args, const json::Value& config);
// Only the last axis (-1, or 1 for 2-D rows) for the normalization layers and Softmax.
void check_last_axis(const json::Value& config, const std::string& where);
Penalty parse_regularizer(const json::Value* v, const std::string& where);
Constraint parse_constraint(const json::Value* v, int ndim, const std::string& where);

// The affine part BatchNormalization and LayerNormalization share in their Keras configs:
// epsilon, center, scale, and the regularizers and constraints of gamma and beta.
template <class Config>
void read_gamma_beta_config(const json::Value& c, const std::string& where, Config& b) {
  b.epsilon = static_cast<float>(cfg::get_num_not_null(c, "epsilon", 1e-3, where));
  b.center = cfg::get_bool_not_null(c, "center", true, where);
  b.scale = cfg::get_bool_not_null(c, "scale", true, where);
  b.gamma_regularizer = parse_regularizer(c.find("gamma_regularizer"), where);
  b.beta_regularizer = parse_regularizer(c.find("beta_regularizer"), where);
  b.gamma_constraint = parse_constraint(c.find("gamma_constraint"), 1, where);
  b.beta_constraint = parse_constraint(c.find("beta_constraint"), 1, where);
}
// The seed of a seeded layer: its config's "seed", else `fallback`.
std::uint64_t config_seed(const json::Value& config, std::uint64_t fallback, const std::string& where);
// a * b, saturating at UINT64_MAX (the param_count arithmetic).
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b);

}  // namespace ranvier
