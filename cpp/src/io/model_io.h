// io/model_io: a Network (and, for resuming, its optimizer and loss) from a model
// file's metadata, and the metadata for a Network built in C++ — the same Keras-shaped
// JSON that ranvier.saving writes and reads, so files cross between Python and C++.
//
// Architecture JSON (metadata "architecture"):
//   {"class_name": "Sequential", "config": {"name": ..., "layers": [
//       {"class_name": "InputLayer", "config": {"batch_shape": [null, d, ...]}},
//       {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu", ...}},
//       ...]}, "build_config": {"input_shape": [null, d]}}
// The layers are built through the layer table (layers/layer_table.h, listed in
// layers/layers.def); another class raises invalid_argument naming it and the known ones.
// Every value is type-checked; every error is std::invalid_argument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/json.h"
#include "io/safetensors.h"
#include "layers/layer.h"
#include "losses/losses.h"
#include "model/network.h"
#include "ops/activations.h"
#include "optimizers/optimizer.h"
#include "optimizers/optimizer_json.h"

namespace ranvier {
namespace io {

struct LayerConfig {
  std::string class_name;
  std::string name;
  json::Value config;        // the Keras config object
  json::Value build_config;  // the layer's own {"input_shape": [...]} (null when absent)
  // The input width the layer was built for, from its entry's "build_config"
  // {"input_shape": [null, ...]} (Flatten: the product of the dimensions, others: the
  // last one); 0 when the entry has none. A layer whose width differs from the one the
  // model's input gives it is refused (check_weights_fit, build_network).
  std::int64_t built_in_features = 0;
};

struct Architecture {
  std::string name = "sequential";
  std::vector<std::int64_t> input_shape;  // without the batch dimension (empty: unbuilt)
  std::vector<LayerConfig> layers;
  std::int64_t in_features() const;  // product of input_shape
};

Architecture parse_architecture(const json::Value& arch);
json::Value architecture_json(const Architecture& a);

// A layer from its config through the layer table, built for in_features. seed: the seed
// of a seeded layer (Dropout) when the config has none. sample_shape: the samples'
// dimensions when the layer is the first one (a Flatten with data_format="channels_first"
// reorders them), else null.
std::shared_ptr<Layer> layer_from_config(const LayerConfig& lc, std::int64_t in_features, std::uint64_t seed,
                                         const std::vector<std::int64_t>* sample_shape = nullptr);

// What a model file may make a loader allocate beyond the weights it holds (metric
// buckets and the like), and the JSON values one metadata entry may hold: 16 MiB of
// parsed values (about 175,000; an MLP's architecture needs about 30 per layer).
constexpr std::uint64_t kLoadBudgetBytes = std::uint64_t{64} << 20;
constexpr std::size_t kMaxMetadataValues = (std::size_t{16} << 20) / sizeof(json::Value);
// Layers one model file may describe: each costs a loader some kilobytes and, in Python,
// tens of microseconds to build, so a small file of trivial layers cannot take seconds.
constexpr std::size_t kMaxLayers = 2048;

// Refuses (invalid_argument) an architecture whose known layers need more weight
// values than file_elems, before anything is allocated: each layer for the width the
// model feeds it and for the width its own build_config names. allow_unknown: skip
// layer classes C++ does not know (Python custom layers) instead of refusing them.
void check_weights_fit(const Architecture& arch, std::uint64_t file_elems, bool allow_unknown);

// Refuses (invalid_argument naming both widths) a layer whose build_config says it was
// built for another input width than the one the chain gives it.
void check_layer_width(const LayerConfig& lc, std::int64_t in_features);

// Everything load_model checks before it allocates the network and copies weights: the
// metadata, the architecture, every layer config and every weight tensor's presence and
// exact shape. allow_unknown: stop at the first layer class C++ does not know (the Python
// loader, for custom layers). The Python loader runs this too, so both loaders accept
// and refuse the same files.
void check_model(const Header& h, bool allow_unknown);

// Refuses a compile_config whose metrics would allocate more than kLoadBudgetBytes
// (AUC num_thresholds, Precision/Recall top_k), before any metric is built.
void check_compile_budget(const json::Value& compile_config);

// Every size in a model file's metadata against the file and the budget: the
// architecture (check_weights_fit) and the compile_config (check_compile_budget). The
// Python loader calls this (io_check_model_metadata) before it builds anything; the C++
// loader runs the same checks.
void check_model_metadata(const std::vector<std::pair<std::string, std::string>>& metadata,
                          std::uint64_t file_elems, bool allow_unknown);

// A finalized, bound Network for `arch` (weights zero). seeds[i]: Dropout seed of layer i
// when its config has none (missing: 0).
std::shared_ptr<Network> build_network(const Architecture& arch, const std::vector<std::uint64_t>& seeds);

// Everything a C++ program needs from a validated ranvier file.
struct LoadedModel {
  Architecture arch;
  std::shared_ptr<Network> net;     // weights loaded
  std::vector<std::uint64_t> seeds;  // Dropout seeds per layer (0 when the config has its own)
  std::uint64_t train_steps = 0;
  bool has_compile = false;          // compile_config present
  json::Value compile_config;        // object or null
  json::Value optimizer;             // serialized optimizer (object) or null
  json::Value optimizer_state;       // object or null
};

// Builds the network from the metadata and copies every weight in (each must be present
// with its exact shape). Throws std::invalid_argument naming what is wrong.
LoadedModel load_model(const File& f);
LoadedModel load_model_file(const std::string& path);

// Optimizer JSON: optimizers/optimizer_json.h; loss JSON: losses/loss_json.h.
using ranvier::optimizer_from_json;
using ranvier::optimizer_to_json;

}  // namespace io
}  // namespace ranvier
