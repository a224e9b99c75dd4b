// ranvier's public C++17 API: build, train, save, load and run MLPs with no Python:
// Sequential models built here, and any model saved from Python (functional models with
// several inputs and outputs included). Only standard-library types cross this header (no intrinsics, no OpenMP, no
// pybind11); the implementation sits behind a pointer.
//
//   #include <ranvier/ranvier.hpp>
//
//   ranvier::Model m = ranvier::Model::load("model.safetensors");   // saved from Python
//   std::vector<float> y = m.predict(x);                              // x: n * m.input_size()
//
//   ranvier::Model net(/*seed=*/42);
//   net.input(8).add(ranvier::layers::Dense(32, "relu")).add(ranvier::layers::Dense(1));
//   net.compile({"adam", 0.01}, {"mse"});
//   ranvier::FitOptions fo; fo.epochs = 20; fo.batch_size = 16;
//   ranvier::History h = net.fit(x.data(), y.data(), n, 1, fo);
//   net.save("net.safetensors");                                      // loadable from Python too
//
// Data are row-major float32: x holds n rows of input_size() values, y n rows of y_cols
// values (class indices as floats, one column, for sparse_categorical_crossentropy).
//
// Several inputs and outputs (a functional model saved from Python):
//
//   ranvier::Model m = ranvier::Model::load("graph.safetensors");
//   for (int i = 0; i < m.num_inputs(); ++i)  // names, widths and dtypes as in Python
//     std::printf("%s: %lld values per row\n", m.input_name(i).c_str(), (long long)m.input_width(i));
//   std::vector<std::vector<float>> ys = m.predict({x_num, x_cat});   // one vector per output
//
// An input of dtype "string" or "int64" feeds a StringLookup / IntegerLookup layer: pass
// encode_input_strings(i, keys) / encode_input_ints(i, ...) (the layer's index per key) as
// its floats.
//
// Errors: std::invalid_argument for bad arguments and invalid or hostile model files
// (the message says what is wrong), std::runtime_error for I/O failures, std::logic_error
// for calls in the wrong order (fit before compile, add after the model is built).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ranvier {

// The library version, e.g. "0.1.0".
const char* version();

// Threads used by compute (OpenMP; 1 in a serial build). n == 0 restores the default
// (OMP_NUM_THREADS, else the core count); n < 0 or n > max_num_threads() (4 x the CPU
// count, at least 64) throws std::invalid_argument naming the limit.
int get_num_threads();
void set_num_threads(int n);
int max_num_threads();

// A layer description: the Keras class name and its config as JSON text (what a saved
// file holds). Made by the functions in ranvier::layers.
class LayerSpec {
 public:
  LayerSpec(std::string class_name, std::string config_json)
      : class_name_(std::move(class_name)), config_json_(std::move(config_json)) {}
  const std::string& class_name() const noexcept { return class_name_; }
  const std::string& config_json() const noexcept { return config_json_; }

 private:
  std::string class_name_;
  std::string config_json_;
};

namespace layers {
// Keras's defaults; an empty name is replaced by "dense", "dense_1", ... in the model.
// Activations: "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu",
// "silu"/"swish", "softplus", "softsign", "leaky_relu", "relu6", "mish", "log_softmax", ...
LayerSpec Dense(std::int64_t units, const std::string& activation = "linear", bool use_bias = true,
                const std::string& name = "");
// seed 0: one is drawn from the model's seed.
LayerSpec Dropout(double rate, std::uint64_t seed = 0, const std::string& name = "");
LayerSpec BatchNormalization(double momentum = 0.99, double epsilon = 1e-3, const std::string& name = "");
LayerSpec LayerNormalization(double epsilon = 1e-3, const std::string& name = "");
LayerSpec Activation(const std::string& activation, const std::string& name = "");
// The lookup layers (the model's first layer: they take its raw keys, encoded with
// Model::encode_strings / encode_ints before predict or fit). output_mode: "int", "one_hot",
// "multi_hot", "count"; Keras's index layout ([OOV indices] [vocabulary]).
LayerSpec StringLookup(const std::vector<std::string>& vocabulary, const std::string& output_mode = "int",
                       std::int64_t num_oov_indices = 1, const std::string& name = "");
LayerSpec IntegerLookup(const std::vector<std::int64_t>& vocabulary, const std::string& output_mode = "int",
                        std::int64_t num_oov_indices = 1, const std::string& name = "");
}  // namespace layers

// compile() arguments. Optimizers: "sgd", "rmsprop", "adagrad", "adadelta", "adam",
// "adamw", "adamax", "nadam", "lion", "ftrl", ... (every row of the optimizer table,
// by its name or Keras class name) with Keras's defaults; learning_rate < 0
// keeps the default; params sets other hyperparameters by their Keras names
// ({"momentum", 0.9}, {"beta_1", 0.8}, {"clipnorm", 1.0}, ...).
struct OptimizerOptions {
  std::string name = "rmsprop";
  double learning_rate = -1.0;
  std::vector<std::pair<std::string, double>> params;

  OptimizerOptions() = default;
  OptimizerOptions(const char* n, double lr = -1.0) : name(n), learning_rate(lr) {}  // NOLINT: implicit by design
  OptimizerOptions(std::string n, double lr = -1.0) : name(std::move(n)), learning_rate(lr) {}  // NOLINT
};

// Losses: "mean_squared_error"/"mse", "mean_absolute_error"/"mae", "binary_crossentropy",
// "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "hinge",
// "log_cosh", "kl_divergence", "poisson", "cosine_similarity", ...
struct LossOptions {
  std::string name = "mean_squared_error";
  bool from_logits = false;
  double label_smoothing = 0.0;

  LossOptions() = default;
  LossOptions(const char* n, bool logits = false) : name(n), from_logits(logits) {}  // NOLINT
  LossOptions(std::string n, bool logits = false) : name(std::move(n)), from_logits(logits) {}  // NOLINT
};

struct FitOptions {
  std::int64_t batch_size = 32;
  int epochs = 1;
  bool shuffle = true;
  std::uint64_t seed = 0;                // shuffling stream (mixed with the model's step count)
  const float* sample_weight = nullptr;  // n weights, or null
  bool verbose = false;                  // one line per epoch on stdout
};

struct History {
  std::vector<double> loss;  // mean training loss of each epoch
};

class Model {
 public:
  // An empty Sequential model; seed drives weight initialization and Dropout seeds.
  explicit Model(std::uint64_t seed = 0);
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // A model saved by ranvier (Python's model.save or Model::save). The file is fully
  // validated first. When it holds a compile configuration and optimizer state that
  // C++ supports, the model is compiled and fit() resumes where training stopped.
  static Model load(const std::string& path);

  // --- building (before the first fit/predict/save)
  Model& input(std::int64_t features);
  Model& input(const std::vector<std::int64_t>& shape);  // e.g. {8, 8}: flattened to 64
  Model& add(const LayerSpec& layer);

  // --- building a functional model (a graph; instead of input/add), as Keras's functional
  // API: inputs, layers called on tensors (a merge layer on several), a layer called again
  // by name (its weights shared), then the outputs. Saved in Keras's functional layout
  // (Python's ranvier.models.load_model reads it).
  //   ranvier::Model m(7);
  //   auto a = m.add_input("a", {3}), b = m.add_input("b", {2});
  //   auto h = m.call(ranvier::LayerSpec("Concatenate", "{}"), {m.call(ranvier::layers::Dense(4, "relu"), {a}), b});
  //   m.set_outputs({m.call(ranvier::layers::Dense(1, "", true, "out"), {h})});
  struct Tensor {
    int layer = -1;  // the layer that makes it (-1 - i: input i)
    int node = 0;    // which call of that layer
  };
  Tensor add_input(const std::string& name, const std::vector<std::int64_t>& shape,
                   const std::string& dtype = "float32");
  Tensor call(const LayerSpec& layer, const std::vector<Tensor>& inputs);
  Tensor call(const std::string& layer_name, const std::vector<Tensor>& inputs);
  void set_outputs(const std::vector<Tensor>& outputs);

  // --- training
  void compile(const OptimizerOptions& optimizer, const LossOptions& loss);
  bool compiled() const;
  History fit(const float* x, const float* y, std::int64_t n, std::int64_t y_cols,
              const FitOptions& options = FitOptions());
  // Mean loss over the data in inference mode.
  double evaluate(const float* x, const float* y, std::int64_t n, std::int64_t y_cols,
                  std::int64_t batch_size = 32);
  std::int64_t iterations() const;  // optimizer steps taken (0 before compile)

  // --- inference: out receives n * output_size() floats
  void predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size = 32) const;
  // x.size() must be a multiple of input_size().
  std::vector<float> predict(const std::vector<float>& x, std::int64_t batch_size = 32) const;

  // --- several inputs and outputs (a Sequential model has one of each). xs[i]: n rows of
  // input_width(i) floats; outs[j] receives n rows of output_width(j) floats.
  void predict(const std::vector<const float*>& xs, std::int64_t n, const std::vector<float*>& outs,
               std::int64_t batch_size = 32) const;
  // xs[i].size() must be n * input_width(i), the same n for every input.
  std::vector<std::vector<float>> predict(const std::vector<std::vector<float>>& xs,
                                          std::int64_t batch_size = 32) const;
  // Raw keys of graph input `input` (dtype "string" / "int64"), n * input_width(input) of
  // them, encoded by the lookup layer that input feeds: the floats to pass as that input.
  // keys[i]: lens ? lens[i] bytes : a NUL-terminated string.
  void encode_input_strings(int input, const char* const* keys, const std::int64_t* lens, std::int64_t n,
                            float* out) const;
  std::vector<float> encode_input_strings(int input, const std::vector<std::string>& keys) const;
  void encode_input_ints(int input, const std::int64_t* keys, std::int64_t n, float* out) const;

  // compile() with one loss per output (in output order); loss_weights: empty (all 1) or
  // one per output. Keras's total loss: the weighted sum. E.g.
  //   m.compile({"adam", 0.01}, {{"mse"}, {"binary_crossentropy"}}, {1.0, 0.5});
  void compile(const OptimizerOptions& optimizer, const std::vector<LossOptions>& losses,
               const std::vector<double>& loss_weights);
  // ys[j]: n rows of y_cols[j] values per output. options.sample_weight applies to every output.
  History fit(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
              const std::vector<std::int64_t>& y_cols, std::int64_t n, const FitOptions& options = FitOptions());
  // Mean total loss over the data in inference mode.
  double evaluate(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                  const std::vector<std::int64_t>& y_cols, std::int64_t n, std::int64_t batch_size = 32);

  // --- raw keys: a model whose first layer is a StringLookup (IntegerLookup) takes keys,
  // not floats (a graph's raw inputs: encode_input_strings / encode_input_ints above). These
  // map n keys (row-major, input_size() per sample, as predict's x) to the float indices
  // predict() takes, with Keras's index layout and OOV rules: what Python's
  // predict does before the network. layer: the lookup layer's name ("" = the first layer).
  // std::invalid_argument when that layer is not a lookup of that key kind, or a key is out
  // of vocabulary with num_oov_indices=0.
  void encode_strings(const std::string* keys, std::int64_t n, float* out, const std::string& layer = "") const;
  // keys[i]: lens ? lens[i] bytes : a NUL-terminated string.
  void encode_strings(const char* const* keys, const std::int64_t* lens, std::int64_t n, float* out,
                      const std::string& layer = "") const;
  std::vector<float> encode_strings(const std::vector<std::string>& keys, const std::string& layer = "") const;
  void encode_ints(const std::int64_t* keys, std::int64_t n, float* out, const std::string& layer = "") const;

  // --- files: one safetensors file (see ranvier.saving), written atomically
  void save(const std::string& path) const;

  // --- inspection
  // Inputs and outputs: Keras's names (an input: its Input's name; an output: the layer
  // that makes it, or its key when the model's outputs are a dict), widths (values per
  // row), shapes (without the batch dimension) and an input's dtype as its Input declares
  // it ("float32"; "string" / "int64" for the raw keys of a lookup layer; an integer dtype
  // for ids, passed as floats holding the integers). i, j out of range:
  // std::invalid_argument.
  int num_inputs() const;
  int num_outputs() const;
  std::string input_name(int i) const;
  std::string output_name(int j) const;
  std::int64_t input_width(int i) const;
  std::int64_t output_width(int j) const;
  std::vector<std::int64_t> input_shape(int i) const;
  std::string input_dtype(int i) const;
  // The first input's and first output's widths (a Sequential model's only ones).
  std::int64_t input_size() const;
  std::int64_t output_size() const;
  std::int64_t count_params() const;
  std::vector<std::string> layer_names() const;
  // Weights by name "layer/weight" (e.g. "dense/kernel", Keras shape, row-major).
  std::vector<std::string> weight_names() const;
  std::vector<std::int64_t> weight_shape(const std::string& name) const;
  std::vector<float> get_weight(const std::string& name) const;
  void set_weight(const std::string& name, const std::vector<float>& values);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  void build_if_needed() const;
};

}  // namespace ranvier
