// io/model_io: a Network (and, for resuming, its optimizer and loss) from a model
// file's metadata, and the metadata for a Network built in C++ — the same Keras-shaped
// JSON that ranvier.saving writes and reads, so files cross between Python and C++.
//
// Architecture JSON (metadata "architecture"), one of:
//   {"class_name": "Sequential", "config": {"name": ..., "layers": [
//       {"class_name": "InputLayer", "config": {"batch_shape": [null, d, ...]}},
//       {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu", ...}},
//       ...]}, "build_config": {"input_shape": [null, d]}}
//   {"class_name": "Functional", "config": {"name": ..., "layers": [
//       {"class_name": "InputLayer", "name": "a", "config": {"batch_shape": [null, 4], "name": "a", ...},
//        "inbound_nodes": []},
//       {"class_name": "Dense", "name": "d", "config": {...}, "inbound_nodes": [
//          {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}}],
//           "kwargs": {}}]},
//       {"class_name": "Concatenate", ..., "inbound_nodes": [{"args": [[<tensor>, <tensor>]], ...}]},
//       ...], "input_layers": [["a", 0, 0], ...], "output_layers": [["d", 0, 0], ...]}}
//     Keras's functional layout (io/graph_arch.cpp): a layer called twice has two inbound
//     nodes (the second shares the first's weights); a nested "Sequential" / "Functional"
//     entry is inlined; input_layers / output_layers are a triple, a list or a dict of
//     triples (a dict flattens in sorted-key order, as Keras's).
// The layers are built through the layer table (layers/layer_table.h, listed in
// layers/layers.def); another class raises invalid_argument naming it and the known ones.
// Every value is type-checked; every error is std::invalid_argument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <unordered_map>
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

struct Architecture;

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
  // Functional entries: the product of the build_config shape's dimensions (a layer that
  // takes the whole sample, Embedding or Reshape, is built for it rather than the last axis),
  // and a multi-input layer's build_config (a list of shapes): each input's width.
  std::int64_t built_in_sample = 0;
  std::vector<std::int64_t> built_in_widths;

  // ---- functional models only
  // One entry per call of the layer in the model (Keras's inbound_nodes).
  struct TensorRef {
    int layer = 0;   // index in Architecture::layers, or -1 - i for the graph input i
    int node = 0;    // which call of that layer
    int tensor = 0;  // which of its outputs (0 except for a nested model's)
  };
  struct Node {
    std::vector<TensorRef> inputs;
    // Each input's per-sample shape as the file gives it (the tensor's "shape" without the
    // batch axis; empty when not given): checked against the width the graph gives it, and
    // what a merge layer is built for.
    std::vector<std::vector<std::int64_t>> shapes;
  };
  std::vector<Node> nodes;
  // A nested "Sequential" / "Functional" entry (a model used as a layer): its own
  // architecture, inlined into the network where it is called; null for a layer.
  std::shared_ptr<const Architecture> nested;
};

// A graph input (an InputLayer) of a functional model.
struct GraphInput {
  std::string name;
  std::vector<std::int64_t> shape;  // without the batch dimension
  std::string dtype = "float32";    // as written ("float32", "int64", "string", ...)
};

struct Architecture {
  std::string name = "sequential";
  std::vector<std::int64_t> input_shape;  // without the batch dimension (empty: unbuilt); a
                                          // functional model: its first input's
  std::vector<LayerConfig> layers;        // a functional model: every non-input layer, in the
                                          // config's order
  std::int64_t in_features() const;  // product of input_shape

  // ---- functional models ("class_name": "Functional")
  bool functional = false;
  std::vector<GraphInput> inputs;              // the model's inputs, in Keras's flattened order
  std::vector<LayerConfig::TensorRef> outputs;  // the model's outputs, in Keras's flattened order
  std::vector<std::string> output_names;       // dict outputs: the key; else the producing layer
  json::Value raw;  // the architecture object as read (a loaded model saves it back as is)
};

Architecture parse_architecture(const json::Value& arch);
json::Value architecture_json(const Architecture& a);
// A build_config's input_shape [null, d1, ..., dk]: (dk, d1 * ... * dk), the last axis and
// the whole sample. Every dimension must be known and in 1..2^40, and so must the product;
// std::invalid_argument ("invalid model file: <where>: ...") otherwise.
std::pair<std::int64_t, std::int64_t> input_shape_widths(const json::Value& shape, const std::string& where);

// A layer from its config through the layer table, built for in_features. seed: the seed
// of a seeded layer (Dropout) when the config has none. sample_shape: the samples'
// dimensions when the layer is the first one (a Flatten with data_format="channels_first"
// reorders them), else null.
std::shared_ptr<Layer> layer_from_config(const LayerConfig& lc, std::int64_t in_features, std::uint64_t seed,
                                         const std::vector<std::int64_t>* sample_shape = nullptr);

// What a model file may make a loader allocate beyond the weights it holds (metric
// buckets and the like), and the JSON values one metadata entry may hold: 16 MiB of
// parsed values (about 190,000; an MLP's architecture needs about 30 per layer) whatever
// its length, and past that one value per 4 bytes of the entry's text, up to 2^21 values
// (about 185 MiB parsed). A value costs a loader sizeof(json::Value) bytes (88 here) and
// takes at least 2 bytes of text ("0,"), so a metadata entry that is its own text's
// length: a small file stays cheap to load (at most 16 MiB of values), and a large one
// can only ask for about 22 bytes per byte it holds. What needs the room: the vocabulary
// of a StringLookup / IntegerLookup, which is in its layer's config (as in Keras), one
// value per term: up to about 2 million terms.
constexpr std::uint64_t kLoadBudgetBytes = std::uint64_t{64} << 20;
constexpr std::size_t kMaxMetadataValues = (std::size_t{16} << 20) / sizeof(json::Value);
constexpr std::size_t kMaxMetadataValuesLarge = std::size_t{1} << 21;
constexpr std::size_t metadata_value_limit(std::size_t text_bytes) {
  const std::size_t by_text = text_bytes / 4 < kMaxMetadataValuesLarge ? text_bytes / 4 : kMaxMetadataValuesLarge;
  return by_text > kMaxMetadataValues ? by_text : kMaxMetadataValues;
}
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

// Layer seeds by layer name (metadata layer_seeds): the seeded layers of a functional
// model, nested ones included.
using SeedLookup = std::unordered_map<std::string, std::uint64_t>;

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
// when its config has none (missing: 0). node_names (optional): receives, per network node,
// the name of the layer it runs (the weights' file names: "layers/<name>/<weight>"); a
// chain's nodes are its layers.
// seed_by_name (functional models): the seeds of layer_seeds by layer name, nested models'
// layers included.
std::shared_ptr<Network> build_network(const Architecture& arch, const std::vector<std::uint64_t>& seeds,
                                       std::vector<std::string>* node_names = nullptr,
                                       const SeedLookup* seed_by_name = nullptr);

// ---- functional models (io/graph_arch.cpp)
// The most nodes a functional model may expand to (every call of every layer, nested
// models inlined) and how deep models may nest.
constexpr std::size_t kMaxNodes = 4 * kMaxLayers;
constexpr int kMaxNesting = 16;

// The architecture of a "Functional" config (the object with "class_name" and "config").
// Every reference is resolved and checked here: unknown layers, node and tensor indices out
// of range, cycles, unused inputs refused naming the layer.
Architecture parse_functional(const json::Value& arch, int depth = 0);
// The nodes of a parsed functional architecture in replay order, (layer index, call index)
// (Keras's functional_from_config order: it decides the parameter layout); a cycle is
// refused (std::invalid_argument) naming the call, prefixed with `where`.
std::vector<std::pair<int, int>> replay_order(const Architecture& a, const std::string& where);
// Keras's functional layout for `a` (a.raw when the architecture was read from a file).
json::Value functional_json(const Architecture& a);
// check_weights_fit for a functional model.
void check_graph_weights_fit(const Architecture& arch, std::uint64_t file_elems, bool allow_unknown);
// The network of a functional model (not finalized): its inputs, every node (a layer called
// twice is a second node sharing the first's weights) and its outputs. node_names: per
// node, the layer's name.
void build_graph(Network& net, const Architecture& arch, const SeedLookup& seeds,
                 std::vector<std::string>& node_names);
// The weights a functional model's file must hold: ("layers/<layer>/<weight>", shape) of
// every layer that holds weights, once per layer (allow_unknown: stops at a custom layer).
void check_graph_model(const Header& h, const Architecture& arch, const SeedLookup& seeds, bool allow_unknown);

// Everything a C++ program needs from a validated ranvier file.
struct LoadedModel {
  Architecture arch;
  std::shared_ptr<Network> net;     // weights loaded
  std::vector<std::string> node_names;  // per network node, its layer's name
  std::vector<std::uint64_t> seeds;  // Dropout seeds per layer (0 when the config has its own)
  SeedLookup seed_by_name;           // metadata layer_seeds (functional models, nested layers)
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
