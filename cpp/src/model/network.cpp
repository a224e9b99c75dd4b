#include "model/network.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "runtime/alloc.h"
#include "runtime/runtime.h"

namespace ranvier {

FloatBuffer::~FloatBuffer() { std::free(data_); }

void FloatBuffer::resize(std::int64_t n, const char* what) {
  if (n < 0) throw std::invalid_argument(std::string(what) + ": negative size " + std::to_string(n));
  if (n == 0) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    return;
  }
  // Round up to whole cache lines; aligned_alloc needs a multiple of the alignment.
  const std::uint64_t raw = alloc_bytes(what, static_cast<std::uint64_t>(n), 1, sizeof(float));
  const std::uint64_t bytes = (raw + 63) / 64 * 64;
  alloc_check(what, bytes);
  // Strong guarantee: the old contents stay until the new block exists.
  float* fresh = static_cast<float*>(std::aligned_alloc(64, static_cast<std::size_t>(bytes)));
  if (!fresh) throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes));
  std::memset(fresh, 0, static_cast<std::size_t>(bytes));
  std::free(data_);
  data_ = fresh;
  size_ = n;
}

void Network::add(std::shared_ptr<Layer> layer) {
  if (!layer) throw std::invalid_argument("Network.add: layer is null");
  if (finalized_) throw std::logic_error("Network.add: the network is already finalized");
  layers_.push_back(std::move(layer));
}

std::int64_t Network::in_features() const { return layers_.empty() ? 0 : layers_.front()->in_features(); }
std::int64_t Network::out_features() const { return layers_.empty() ? 0 : layers_.back()->out_features(); }

std::int64_t Network::max_features() const {
  std::int64_t m = 0;
  for (const auto& l : layers_) m = std::max({m, l->in_features(), l->out_features()});
  return m;
}

void Network::finalize(std::int64_t input_features) {
  if (layers_.empty()) throw std::invalid_argument("Network: a model needs at least one layer");
  // The one width check every builder goes through (Python's Sequential, the C++ API, the
  // model-file loaders): a layer built for N inputs cannot run on rows of M != N values.
  if (input_features <= 0)
    throw std::invalid_argument("Network: the model's input width must be positive, got " +
                                std::to_string(input_features));
  if (layers_[0]->in_features() != input_features)
    throw std::invalid_argument(std::string("Network: layer 0 (") + layers_[0]->type_name() + ") was built for " +
                                std::to_string(layers_[0]->in_features()) + " input features, but the model's input has " +
                                std::to_string(input_features) + " features");
  for (std::size_t i = 1; i < layers_.size(); ++i) {
    if (layers_[i]->in_features() != layers_[i - 1]->out_features())
      throw std::invalid_argument(std::string("Network: layer ") + std::to_string(i) + " (" +
                                  layers_[i]->type_name() + ") expects " +
                                  std::to_string(layers_[i]->in_features()) + " features, but layer " +
                                  std::to_string(i - 1) + " (" + layers_[i - 1]->type_name() +
                                  ") produces " + std::to_string(layers_[i - 1]->out_features()));
  }
  std::vector<TensorSlot> tensors;
  std::int64_t np = 0, ns = 0;
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    const auto specs = layers_[li]->param_specs();
    for (std::size_t j = 0; j < specs.size(); ++j) {
      TensorSlot t;
      t.layer = static_cast<int>(li);
      t.index = static_cast<int>(j);
      t.name = specs[j].name;
      t.shape = specs[j].shape;
      t.trainable = specs[j].trainable;
      t.size = 1;
      for (auto d : t.shape) t.size = static_cast<std::int64_t>(alloc_bytes("the model's weights", static_cast<std::uint64_t>(t.size), static_cast<std::uint64_t>(d), 1));
      t.offset = t.trainable ? np : ns;
      (t.trainable ? np : ns) += t.size;
      tensors.push_back(std::move(t));
    }
  }
  // Allocate everything first, then commit: a failure leaves the network as it was.
  FloatBuffer params(np, "the model's trainable weights"), grads(np, "the model's gradients"),
      state(ns, "the model's non-trainable weights");
  tensors_.swap(tensors);
  params_ = std::move(params);
  grads_ = std::move(grads);
  state_ = std::move(state);
  finalized_ = true;
}

void Network::bind_all() {
  std::size_t k = 0;
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    std::vector<float*> p, g;
    while (k < tensors_.size() && tensors_[k].layer == static_cast<int>(li)) {
      const TensorSlot& t = tensors_[k];
      p.push_back((t.trainable ? params_.data() : state_.data()) + t.offset);
      g.push_back(t.trainable ? grads_.data() + t.offset : nullptr);
      ++k;
    }
    layers_[li]->bind(p, g);
  }
}

void Network::predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size) {
  if (!finalized_) throw std::logic_error("Network.predict: the network is not finalized");
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  std::lock_guard<std::mutex> lock(infer_mu_);
  FtzScope ftz;
  const std::int64_t cap = std::min(batch_size, n);
  const std::int64_t width = max_features();
  const std::int64_t need = static_cast<std::int64_t>(
      alloc_bytes("predict's workspace", 2 * static_cast<std::uint64_t>(cap), static_cast<std::uint64_t>(width), 1));
  if (predict_ws_.size() < need) predict_ws_.resize(need, "predict's workspace");
  for (const auto& l : layers_) l->reserve(cap);  // each layer commits only on success
  float* ping = predict_ws_.data();
  float* pong = ping + cap * width;
  ForwardCtx ctx;
  ctx.training = false;
  const std::int64_t out_f = out_features();
  const std::int64_t in_f = in_features();
  for (std::int64_t s = 0; s < n; s += cap) {
    const std::int64_t b = std::min(cap, n - s);
    const float* cur = x + s * in_f;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      float* dst = (i + 1 == layers_.size()) ? out + s * out_f : (i % 2 == 0 ? ping : pong);
      layers_[i]->forward(cur, dst, b, ctx);
      cur = dst;
    }
  }
}

double Network::regularization(bool add_grad) {
  double s = 0.0;
  for (auto& l : layers_) s += l->regularization(add_grad);
  return s;
}

void Network::apply_constraints() {
  for (auto& l : layers_) l->apply_constraints();
}

bool all_finite(const float* p, std::int64_t n) {
  std::uint32_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, p + i, sizeof u);
    bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

}  // namespace ranvier
