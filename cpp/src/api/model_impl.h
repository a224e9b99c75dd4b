// api/model_impl.h: the state behind ranvier::Model (cpp/include/ranvier/model.hpp), shared
// by api/model.cpp (building, training, inference) and api/model_file.cpp (save, load).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/json.h"
#include "io/model_io.h"
#include "losses/losses.h"
#include "model/network.h"
#include "model/trainer.h"
#include "optimizers/loss_scale.h"
#include "optimizers/optimizer.h"
#include "ranvier/model.hpp"

namespace ranvier {

struct Model::Impl {
  std::uint64_t seed = 0;
  std::uint64_t rng = 0;  // stream for Dropout seeds and initializers
  io::Architecture arch;
  std::vector<std::uint64_t> seeds;  // Dropout seeds for layers whose config has none
  io::SeedLookup seed_by_name;       // a loaded functional model's layer_seeds
  std::map<std::string, int> name_counts;
  std::shared_ptr<Network> net;
  std::vector<std::string> node_names;  // per network node: its layer's name (weights' file names)

  // training
  bool compiled = false;
  OptimizerConfig opt_cfg;
  std::string opt_name;
  std::vector<json::Value> losses;  // per output: the loss identifier (null: no loss)
  std::vector<float> loss_weights;  // per output
  json::Value saved_loss;           // compile_config's "loss" / "loss_weights" as read or given
  json::Value saved_loss_weights;
  std::shared_ptr<Optimizer> opt;
  // A model file compiled with a LossScaleOptimizer (Keras's mixed_float16): its config (the
  // inner optimizer is opt_cfg) and the loss scaler the trainer steps with; null: none.
  json::Value loss_scale_config;
  std::shared_ptr<LossScaler> scaler;
  std::shared_ptr<Trainer> trainer;
  std::vector<LossKind> trainer_kinds;  // the losses the trainer was made for
  std::string not_compiled_reason;

  std::string unique_name(const std::string& base);
  // The config of `layer` named (unique in the model) and seeded (a seeded layer without
  // one: from the model's stream). what: the calling method, for messages.
  io::LayerConfig layer_config(const LayerSpec& layer, const std::string& what);
  void build();  // the network of `arch`, Keras's initializers (a Model built here)
  std::vector<ParamSegment> segments() const;
  void make_optimizer();
  // The per-output LossSpecs for these label widths (validated).
  std::vector<LossSpec> loss_specs(const std::vector<std::int64_t>& y_cols) const;
  Trainer& get_trainer(const std::vector<std::int64_t>& y_cols);
  void check_data(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                  const std::vector<std::int64_t>& y_cols, std::int64_t n, const char* what) const;
  History run_fit(const DataView& d, const FitOptions& o);

  // Names and widths of the graph's inputs and outputs (a Sequential: one each).
  int num_inputs() const;
  int num_outputs() const;
  const io::GraphInput* graph_input(int i) const;  // null for a Sequential
  void check_input_index(int i, const char* what) const;
  void check_output_index(int j, const char* what) const;
};

}  // namespace ranvier
