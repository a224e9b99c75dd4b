// Embedding and CategoryEncoding: the layers whose input is integer ids. Ids travel in the
// network's float32 rows as exact integers (every id < 2**24 is exact in float32); forward
// checks each one before it is used and throws std::invalid_argument naming the layer, the
// value, where it is and the valid range, so no id ever reads or writes out of bounds.
//
// Embedding (keras.layers.Embedding(input_dim, output_dim, embeddings_initializer="uniform",
// embeddings_regularizer=None, embeddings_constraint=None)): one weight, "embeddings"
// (input_dim x output_dim). A row of `seq` ids becomes a row of seq * output_dim values
// (Keras's (batch, seq, output_dim)).
// - forward: a gather (row copies), rows split over threads;
// - backward: dW = scatter-add of dy into the rows of the ids. The table's row range is split
//   over threads; each range scans every id in (batch, position) order and adds the ones
//   that fall in it, so each table element sums its contributions in one fixed order: the
//   same bits at any thread count, no atomics. dW is written whole (zeros where no id
//   points): the optimizer step is dense over the table, as Keras's.
// - dx = 0 (ids are not differentiable).
// - regularizer and constraint on the table as Dense's kernel ones (weight_rules); an
//   activity regularizer on the output as Dense's.
//
// CategoryEncoding (keras.layers.CategoryEncoding(num_tokens, output_mode="multi_hot")):
// no weights; dx = 0. For a row of k ids and depth T = num_tokens:
// - "one_hot": each id encoded, k * T wide (Keras: (n, 1) -> (n, T), (n, k) -> (n, k, T));
// - "multi_hot": 1 at every id of the row, T wide (the last axis is one sample);
// - "count": how many times each id occurs in the row, T wide.
// Out-of-range ids are refused (Keras drops ids >= T silently and fails on negative ones
// only in some modes; ranvier refuses both everywhere).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

// The largest id count: ids up to 2**24 are exact in float32.
constexpr std::int64_t kMaxIds = std::int64_t{1} << 24;
// The widest row a model file holds (features per sample).
constexpr std::uint64_t kMaxWidth = std::uint64_t{1} << 40;

std::string shown_float(float v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

// Throws unless every value of x (rows x cols) is an integer in [0, n). `who` names the layer.
void check_ids(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t n, const std::string& who) {
  const float limit = static_cast<float>(n);
  const std::int64_t total = rows * cols;
  for (std::int64_t i = 0; i < total; ++i) {
    const float v = x[i];
    if (v >= 0.0f && v < limit && v == std::floor(v)) continue;
    const std::string at = "sample " + std::to_string(i / cols) + ", position " + std::to_string(i % cols);
    const std::string range = "[0, " + std::to_string(n) + ")";
    if (!(v >= 0.0f && v < limit) && v == std::floor(v))
      throw std::invalid_argument(who + ": input id " + shown_float(v) + " (" + at + ") is out of range: ids must be "
                                  "integers in " + range);
    throw std::invalid_argument(who + ": input id " + shown_float(v) + " (" + at + ") is not an integer: ids must be "
                                "integers in " + range);
  }
}

// A positive integer argument of a config (Keras's message otherwise; bools refused).
std::int64_t positive_int(const json::Value& c, const char* key, const std::string& cls, const std::string& where,
                          std::int64_t max_value) {
  const json::Value* v = c.find(key);
  if (!v || v->is_null())
    throw std::invalid_argument(where + ": '" + key + "' is required (a positive integer)");
  const std::string got = cfg::shown(*v);
  const auto bad = [&]() {
    return std::invalid_argument(cls + ": `" + key + "` must be a positive integer, got " + key + "=" + got);
  };
  if (!v->is_number()) throw bad();
  const std::string& t = v->number_text();
  if (t.empty() || t.find_first_not_of("-0123456789") != std::string::npos) throw bad();
  std::int64_t i = 0;
  try {
    i = v->as_int(key);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(cls + ": `" + key + "` is too large: it must be at most " + std::to_string(max_value) +
                                ", got " + key + "=" + t);
  }
  if (i <= 0) throw bad();
  if (i > max_value)
    throw std::invalid_argument(cls + ": `" + key + "` is too large: it must be at most " + std::to_string(max_value) +
                                ", got " + key + "=" + t);
  return i;
}

// How the id errors name a layer: "Embedding 'emb'" when its config has a name, else the
// loader's `where` ("layer 'emb' (Embedding)"), else the class.
std::string layer_who(const json::Value& c, const char* cls, const std::string& where) {
  const json::Value* n = c.find("name");
  if (n && n->is_string() && !n->as_string().empty()) return std::string(cls) + " '" + n->as_string() + "'";
  return where.empty() ? std::string(cls) : where;
}

// ---------------------------------------------------------------------------- Embedding
struct EmbeddingConfig {
  std::int64_t input_dim = 0, output_dim = 0;
  Penalty regularizer, activity_regularizer;
  Constraint constraint;
};

class Embedding final : public Layer {
 public:
  Embedding(const EmbeddingConfig& c, std::string who) : c_(c), who_(std::move(who)) {}
  const char* type_name() const override { return "Embedding"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("Embedding: input must have at least one id per sample, got " +
                                  std::to_string(in_features));
    if (c_.output_dim > std::numeric_limits<std::int64_t>::max() / in_features)
      throw std::invalid_argument("Embedding: " + std::to_string(in_features) + " ids x " +
                                  std::to_string(c_.output_dim) + " values per sample overflow a 64-bit size");
    seq_ = in_features;
    norms_.assign(static_cast<std::size_t>(c_.output_dim), 0.0);
    return seq_ * c_.output_dim;
  }
  std::int64_t in_features() const override { return seq_; }
  std::int64_t out_features() const override { return seq_ * c_.output_dim; }
  std::vector<ParamSpec> param_specs() const override {
    return {{"embeddings", {c_.input_dim, c_.output_dim}, trainable_}};
  }
  void bind(const std::vector<float*>& params, const std::vector<float*>& grads) override {
    if (params.size() != 1 || grads.size() != 1)
      throw std::invalid_argument("Embedding.bind: expected 1 param and 1 grad");
    w_ = params[0];
    dw_ = grads[0];
  }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    if (!w_) throw std::logic_error("Embedding.forward: parameters are not bound");
    check_ids(x, batch, seq_, c_.input_dim, who_);
    const std::int64_t seq = seq_, dim = c_.output_dim;
    const float* w = w_;
    layers_detail::parallel_ranges(batch, seq * dim, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t i = r0 * seq; i < r1 * seq; ++i)
        std::memcpy(y + i * dim, w + static_cast<std::int64_t>(x[i]) * dim, sizeof(float) * static_cast<std::size_t>(dim));
    });
    if (c_.activity_regularizer.active())
      return penalty_apply(c_.activity_regularizer, y, nullptr, batch * seq * dim, 1.0f / static_cast<float>(batch));
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)pre;
    if (batch <= 0) return;
    const std::int64_t seq = seq_, dim = c_.output_dim, ids = batch * seq_;
    if (dx) std::memset(dx, 0, sizeof(float) * static_cast<std::size_t>(ids));
    if (!trainable_ || !dw_) return;
    if (c_.activity_regularizer.active())
      penalty_apply(c_.activity_regularizer, y, dy, ids * dim, loss_scale_ / static_cast<float>(batch));
    check_ids(x, batch, seq, c_.input_dim, who_);  // backward may be driven without forward's check
    float* dw = dw_;
    const float* g = dy;
    // Each range of table rows: zero them, then add every id's gradient row that lands in
    // them, in id order (a fixed order per element, whatever the split).
    layers_detail::parallel_ranges(c_.input_dim, dim + std::max<std::int64_t>(1, ids * dim / c_.input_dim),
                                   [&](std::int64_t v0, std::int64_t v1) {
      std::memset(dw + v0 * dim, 0, sizeof(float) * static_cast<std::size_t>((v1 - v0) * dim));
      for (std::int64_t i = 0; i < ids; ++i) {
        const std::int64_t v = static_cast<std::int64_t>(x[i]);
        if (v < v0 || v >= v1) continue;
        float* dst = dw + v * dim;
        const float* src = g + i * dim;
        for (std::int64_t j = 0; j < dim; ++j) dst[j] += src[j];
      }
    });
  }
  double regularization(bool add_grad) override {
    if (!trainable_ || !w_) return 0.0;
    return penalty_apply(c_.regularizer, w_, add_grad ? dw_ : nullptr, c_.input_dim * c_.output_dim);
  }
  void apply_constraints() override {
    if (w_) constraint_apply(c_.constraint, w_, c_.input_dim, c_.output_dim, norms_.data());
  }

 private:
  EmbeddingConfig c_;
  std::string who_;  // names the layer in the id errors
  std::int64_t seq_ = 0;
  float* w_ = nullptr;
  float* dw_ = nullptr;
  std::vector<double> norms_;  // constraint_apply's per-column workspace
};

EmbeddingConfig embedding_config(const json::Value& c, const std::string& where) {
  EmbeddingConfig e;
  e.input_dim = positive_int(c, "input_dim", "Embedding", where, kMaxIds);
  e.output_dim = positive_int(c, "output_dim", "Embedding", where, std::int64_t{1} << 40);
  if (cfg::get_bool(c, "mask_zero", false, where))
    throw std::invalid_argument(where + ": mask_zero=True is not supported: ranvier has no layer that consumes a "
                                "mask (use mask_zero=False)");
  e.regularizer = parse_regularizer(c.find("embeddings_regularizer"), where);
  e.activity_regularizer = parse_regularizer(c.find("activity_regularizer"), where);
  e.constraint = parse_constraint(c.find("embeddings_constraint"), 2, where);
  for (const char* key : {"lora_rank", "quantization_config"}) {
    const json::Value* v = c.find(key);
    if (v && !v->is_null()) throw std::invalid_argument(where + ": '" + key + "' is not supported by ranvier");
  }
  return e;
}

std::shared_ptr<Layer> embedding_from_config(const json::Value& c, const LayerArgs& a) {
  return std::make_shared<Embedding>(embedding_config(c, a.where), layer_who(c, "Embedding", a.where));
}

std::uint64_t embedding_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                    const std::string& where) {
  const EmbeddingConfig e = embedding_config(c, where);
  *out = sat_mul(in, static_cast<std::uint64_t>(e.output_dim));
  if (*out > kMaxWidth)
    throw std::invalid_argument(where + ": " + std::to_string(in) + " ids x " + std::to_string(e.output_dim) +
                                " values per sample exceed the 2**40 a model file can hold");
  return sat_mul(static_cast<std::uint64_t>(e.input_dim), static_cast<std::uint64_t>(e.output_dim));
}

// ---------------------------------------------------------------------------- CategoryEncoding
enum class Mode { one_hot, multi_hot, count };

class CategoryEncoding final : public Layer {
 public:
  CategoryEncoding(std::int64_t tokens, Mode mode, std::string who) : t_(tokens), mode_(mode), who_(std::move(who)) {}
  const char* type_name() const override { return "CategoryEncoding"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("CategoryEncoding: input must have at least one id per sample, got " +
                                  std::to_string(in_features));
    if (mode_ == Mode::one_hot && t_ > std::numeric_limits<std::int64_t>::max() / in_features)
      throw std::invalid_argument("CategoryEncoding: " + std::to_string(in_features) + " ids x " +
                                  std::to_string(t_) + " tokens per sample overflow a 64-bit size");
    k_ = in_features;
    return out_features();
  }
  std::int64_t in_features() const override { return k_; }
  std::int64_t out_features() const override { return mode_ == Mode::one_hot ? k_ * t_ : t_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    check_ids(x, batch, k_, t_, who_);
    const std::int64_t k = k_, t = t_, out = out_features();
    const Mode mode = mode_;
    layers_detail::parallel_ranges(batch, out + k, [&](std::int64_t r0, std::int64_t r1) {
      std::memset(y + r0 * out, 0, sizeof(float) * static_cast<std::size_t>((r1 - r0) * out));
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * k;
        float* yr = y + r * out;
        for (std::int64_t j = 0; j < k; ++j) {
          const std::int64_t id = static_cast<std::int64_t>(xr[j]);
          if (mode == Mode::one_hot) yr[j * t + id] = 1.0f;
          else if (mode == Mode::count) yr[id] += 1.0f;
          else yr[id] = 1.0f;
        }
      }
    });
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)dy; (void)pre;
    if (dx && batch > 0) std::memset(dx, 0, sizeof(float) * static_cast<std::size_t>(batch * k_));
  }

 private:
  std::int64_t t_;
  Mode mode_;
  std::string who_;
  std::int64_t k_ = 0;
};

Mode encoding_mode(const json::Value& c) {
  const json::Value* m = c.find("output_mode");
  if (!m || m->is_null()) return Mode::multi_hot;
  if (m->is_string()) {
    const std::string& s = m->as_string();
    if (s == "one_hot") return Mode::one_hot;
    if (s == "multi_hot" || s == "binary") return Mode::multi_hot;
    if (s == "count") return Mode::count;
  }
  throw std::invalid_argument("Unknown arg for output_mode: " + cfg::shown(*m) +
                              " (CategoryEncoding takes 'one_hot', 'multi_hot' or 'count')");
}

std::int64_t encoding_tokens(const json::Value& c, const std::string& where) {
  const json::Value* n = c.find("num_tokens");
  if (!n || n->is_null())
    throw std::invalid_argument("num_tokens must be set to use this layer. If the number of tokens is not known "
                                "beforehand, use the IntegerLookup layer instead.");
  return positive_int(c, "num_tokens", "CategoryEncoding", where, kMaxIds);
}

std::shared_ptr<Layer> category_encoding_from_config(const json::Value& c, const LayerArgs& a) {
  const std::int64_t t = encoding_tokens(c, a.where);
  const Mode mode = encoding_mode(c);
  const json::Value* sparse = c.find("sparse");
  if (sparse && !sparse->is_null() && (!sparse->is_bool() || sparse->as_bool()))
    throw std::invalid_argument(a.where + ": sparse=True is not supported: ranvier's outputs are dense arrays");
  return std::make_shared<CategoryEncoding>(t, mode, layer_who(c, "CategoryEncoding", a.where));
}

std::uint64_t category_encoding_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                            const std::string& where) {
  const std::uint64_t t = static_cast<std::uint64_t>(encoding_tokens(c, where));
  *out = encoding_mode(c) == Mode::one_hot ? sat_mul(in, t) : t;
  if (*out > kMaxWidth)
    throw std::invalid_argument(where + ": " + std::to_string(in) + " ids x " + std::to_string(t) +
                                " tokens per sample exceed the 2**40 a model file can hold");
  return 0;
}

}  // namespace

const LayerRow layer_row_Embedding = {"Embedding", embedding_from_config, embedding_param_count, false};
const LayerRow layer_row_CategoryEncoding = {"CategoryEncoding", category_encoding_from_config,
                                             category_encoding_param_count, false};

}  // namespace ranvier
