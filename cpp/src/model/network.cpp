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

namespace {

std::string node_name(const GraphNode& n, std::size_t k) {
  return "node " + std::to_string(k) + " (" + n.layer->type_name() + ")";
}

// A pool of buffers for a plan: acquire() reuses the lowest-numbered free buffer (widening it
// when needed), release() frees it. Deterministic: the same graph gives the same plan.
struct BufferPool {
  std::vector<std::int64_t> widths;
  std::vector<char> busy;
  int acquire(std::int64_t width) {
    // Prefer a free buffer already wide enough (the narrowest), else widen the widest free one.
    int best = -1;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      if (busy[i]) continue;
      const int ii = static_cast<int>(i);
      if (best < 0) { best = ii; continue; }
      const bool fits = widths[i] >= width, best_fits = widths[static_cast<std::size_t>(best)] >= width;
      if (fits && (!best_fits || widths[i] < widths[static_cast<std::size_t>(best)])) best = ii;
      else if (!fits && !best_fits && widths[i] > widths[static_cast<std::size_t>(best)]) best = ii;
    }
    if (best < 0) {
      widths.push_back(width);
      busy.push_back(1);
      return static_cast<int>(widths.size()) - 1;
    }
    auto& w = widths[static_cast<std::size_t>(best)];
    w = std::max(w, width);
    busy[static_cast<std::size_t>(best)] = 1;
    return best;
  }
  void release(int b) { busy[static_cast<std::size_t>(b)] = 0; }
};

}  // namespace

int Network::add_input(std::int64_t features, std::string name) {
  if (finalized_) throw std::logic_error("Network.add_input: the network is already finalized");
  if (!nodes_.empty())
    throw std::logic_error("Network.add_input: inputs come first (input '" + name + "' added after " +
                           std::to_string(nodes_.size()) + " node(s))");
  if (features <= 0)
    throw std::invalid_argument("Network.add_input: input " + std::to_string(input_widths_.size()) +
                                (name.empty() ? std::string() : " ('" + name + "')") +
                                " must have a positive width, got " + std::to_string(features));
  input_widths_.push_back(features);
  input_names_.push_back(std::move(name));
  return static_cast<int>(input_widths_.size()) - 1;
}

int Network::add_node(std::shared_ptr<Layer> layer, std::vector<int> input_tensors, int shares_with) {
  if (!layer) throw std::invalid_argument("Network.add_node: layer is null");
  if (finalized_) throw std::logic_error("Network.add_node: the network is already finalized");
  const std::string who = "Network.add_node: node " + std::to_string(nodes_.size()) + " (" + layer->type_name() + ")";
  if (input_tensors.empty()) throw std::invalid_argument(who + " has no input tensors");
  const int nt = num_tensors();
  for (int t : input_tensors)
    if (t < 0 || t >= nt)
      throw std::invalid_argument(who + ": input tensor " + std::to_string(t) + " does not exist yet (tensors 0.." +
                                  std::to_string(nt - 1) + " exist; a node's inputs must come before it)");
  if (shares_with != -1 && (shares_with < 0 || shares_with >= static_cast<int>(nodes_.size())))
    throw std::invalid_argument(who + ": shares_with=" + std::to_string(shares_with) +
                                " is not an earlier node (0.." + std::to_string(static_cast<int>(nodes_.size()) - 1) + ")");
  if (shares_with >= 0 && nodes_[static_cast<std::size_t>(shares_with)].shares_with >= 0)
    shares_with = nodes_[static_cast<std::size_t>(shares_with)].shares_with;  // share with the owner
  GraphNode n;
  n.layer = layer;
  n.inputs = std::move(input_tensors);
  n.output = nt;
  n.shares_with = shares_with;
  layers_.reserve(layers_.size() + 1);
  nodes_.push_back(std::move(n));
  layers_.push_back(std::move(layer));
  return nt;
}

void Network::set_outputs(std::vector<int> tensors) {
  if (finalized_) throw std::logic_error("Network.set_outputs: the network is already finalized");
  if (tensors.empty()) throw std::invalid_argument("Network.set_outputs: a model needs at least one output");
  for (int t : tensors)
    if (t < 0 || t >= num_tensors())
      throw std::invalid_argument("Network.set_outputs: tensor " + std::to_string(t) + " does not exist (tensors 0.." +
                                  std::to_string(num_tensors() - 1) + ")");
  outputs_ = std::move(tensors);
  outputs_set_ = true;
}

void Network::add(std::shared_ptr<Layer> layer) {
  if (!layer) throw std::invalid_argument("Network.add: layer is null");
  if (finalized_) throw std::logic_error("Network.add: the network is already finalized");
  if (input_widths_.empty()) {
    // The input of a chain: the first layer's width until finalize(width) settles it.
    input_widths_.push_back(layer->input_features(0));
    input_names_.emplace_back();
    implicit_input_ = true;
  }
  add_node(std::move(layer), {num_tensors() - 1});
}

std::int64_t Network::input_features(int i) const {
  if (i < 0 || i >= num_inputs())
    throw std::out_of_range("Network.input_features: input " + std::to_string(i) + " of " + std::to_string(num_inputs()));
  return input_widths_[static_cast<std::size_t>(i)];
}

std::int64_t Network::output_features(int j) const {
  if (j < 0 || j >= num_outputs())
    throw std::out_of_range("Network.output_features: output " + std::to_string(j) + " of " + std::to_string(num_outputs()));
  return tensor_features(outputs_[static_cast<std::size_t>(j)]);
}

const std::string& Network::input_name(int i) const {
  if (i < 0 || i >= num_inputs())
    throw std::out_of_range("Network.input_name: input " + std::to_string(i) + " of " + std::to_string(num_inputs()));
  return input_names_[static_cast<std::size_t>(i)];
}

std::int64_t Network::tensor_features(int t) const {
  if (t < 0 || t >= num_tensors())
    throw std::out_of_range("Network: tensor " + std::to_string(t) + " of " + std::to_string(num_tensors()));
  if (t < num_inputs()) return input_widths_[static_cast<std::size_t>(t)];
  return nodes_[static_cast<std::size_t>(t - num_inputs())].layer->out_features();
}

std::int64_t Network::in_features() const { return input_widths_.empty() ? 0 : input_widths_.front(); }

std::int64_t Network::out_features() const {
  if (!outputs_.empty()) return tensor_features(outputs_.front());
  return nodes_.empty() ? 0 : nodes_.back().layer->out_features();
}

std::int64_t Network::max_features() const {
  std::int64_t m = 0;
  for (int t = 0; t < num_tensors(); ++t) m = std::max(m, tensor_features(t));
  return m;
}

void Network::check_graph() const {
  if (nodes_.empty()) throw std::invalid_argument("Network: a model needs at least one layer");
  const int ni = num_inputs();
  std::vector<char> used(static_cast<std::size_t>(num_tensors()), 0);
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    const GraphNode& n = nodes_[k];
    const Layer& l = *n.layer;
    if (l.num_inputs() != static_cast<int>(n.inputs.size()))
      throw std::invalid_argument("Network: " + node_name(n, k) + " takes " + std::to_string(l.num_inputs()) +
                                  " input(s), but is applied to " + std::to_string(n.inputs.size()));
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const int t = n.inputs[i];
      if (t < 0 || t >= n.output)  // inputs must come before the node (topological order)
        throw std::invalid_argument("Network: " + node_name(n, k) + " reads tensor " + std::to_string(t) +
                                    ", which does not come before it");
      used[static_cast<std::size_t>(t)] = 1;
      const std::int64_t want = l.input_features(static_cast<int>(i)), have = tensor_features(t);
      if (want == have) continue;
      if (nodes_.size() > 0 && k == 0 && t == 0 && ni == 1 && implicit_input_)
        throw std::invalid_argument(std::string("Network: layer 0 (") + l.type_name() + ") was built for " +
                                    std::to_string(want) + " input features, but the model's input has " +
                                    std::to_string(have) + " features");
      if (t < ni)
        throw std::invalid_argument("Network: " + node_name(n, k) + " was built for " + std::to_string(want) +
                                    " features on input " + std::to_string(i) + ", but graph input " +
                                    std::to_string(t) +
                                    (input_names_[static_cast<std::size_t>(t)].empty()
                                         ? std::string()
                                         : " ('" + input_names_[static_cast<std::size_t>(t)] + "')") +
                                    " has " + std::to_string(have));
      const std::size_t p = static_cast<std::size_t>(t - ni);
      if (implicit_input_ && n.inputs.size() == 1 && p + 1 == k)  // a chain's message
        throw std::invalid_argument(std::string("Network: layer ") + std::to_string(k) + " (" + l.type_name() +
                                    ") expects " + std::to_string(want) + " features, but layer " +
                                    std::to_string(p) + " (" + nodes_[p].layer->type_name() + ") produces " +
                                    std::to_string(have));
      throw std::invalid_argument("Network: " + node_name(n, k) + " was built for " + std::to_string(want) +
                                  " features on input " + std::to_string(i) + ", but " + node_name(nodes_[p], p) +
                                  " produces " + std::to_string(have));
    }
    if (n.shares_with >= 0) {
      const GraphNode& o = nodes_[static_cast<std::size_t>(n.shares_with)];
      const auto a = l.param_specs(), b = o.layer->param_specs();
      bool same = a.size() == b.size() && std::string(l.type_name()) == o.layer->type_name();
      for (std::size_t j = 0; same && j < a.size(); ++j)
        same = a[j].shape == b[j].shape && a[j].trainable == b[j].trainable;
      if (!same)
        throw std::invalid_argument("Network: " + node_name(n, k) + " shares the weights of " +
                                    node_name(o, static_cast<std::size_t>(n.shares_with)) +
                                    ", but its layer has other weights (type, shapes or trainable flags differ)");
    }
  }
  // One layer object per node: a layer keeps its last forward's state for backward (and is
  // bound to one node's weights), so a layer called again needs a second core (shares_with).
  std::vector<std::pair<const Layer*, std::size_t>> seen;
  seen.reserve(nodes_.size());
  for (std::size_t k = 0; k < nodes_.size(); ++k) seen.emplace_back(nodes_[k].layer.get(), k);
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 1; i < seen.size(); ++i)
    if (seen[i].first == seen[i - 1].first)
      throw std::invalid_argument("Network: " + node_name(nodes_[seen[i].second], seen[i].second) +
                                  " is the same layer object as node " + std::to_string(seen[i - 1].second) +
                                  "; a layer applied again needs its own core (add_node with shares_with=" +
                                  std::to_string(seen[i - 1].second) + ")");
  for (int t : outputs_) used[static_cast<std::size_t>(t)] = 1;
  for (int i = 0; i < ni; ++i)
    if (!used[static_cast<std::size_t>(i)])
      throw std::invalid_argument("Network: graph input " + std::to_string(i) +
                                  (input_names_[static_cast<std::size_t>(i)].empty()
                                       ? std::string()
                                       : " ('" + input_names_[static_cast<std::size_t>(i)] + "')") +
                                  " is not used by any node");
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (!used[static_cast<std::size_t>(nodes_[k].output)])
      throw std::invalid_argument("Network: the output of " + node_name(nodes_[k], k) +
                                  " is neither used by a later node nor a model output");
}

WorkspacePlan Network::make_plan() const {
  WorkspacePlan p;
  const int ni = num_inputs(), nt = num_tensors();
  const std::size_t N = nodes_.size();
  std::vector<int> outs = outputs_;
  // Consumers of each tensor (node indices, in node order; a node listing a tensor twice counts twice).
  std::vector<std::vector<int>> consumers(static_cast<std::size_t>(nt));
  for (std::size_t k = 0; k < N; ++k)
    for (int t : nodes_[k].inputs) consumers[static_cast<std::size_t>(t)].push_back(static_cast<int>(k));

  // ---- predict: activation buffers (graph inputs read in place, outputs written to the caller's arrays)
  p.act_buffer.assign(static_cast<std::size_t>(nt), -1);
  p.predict_out.assign(static_cast<std::size_t>(nt), -1);
  for (std::size_t j = 0; j < outs.size(); ++j) {
    const auto t = static_cast<std::size_t>(outs[j]);
    if (static_cast<int>(t) >= ni && p.predict_out[t] < 0) {
      p.predict_out[t] = static_cast<int>(j);
    } else {  // an input listed as an output, or a repeat: copied after the pass
      int from = -1;
      for (std::size_t j0 = 0; j0 < j; ++j0)
        if (outs[j0] == outs[j]) { from = static_cast<int>(j0); break; }
      p.predict_copy.emplace_back(from < 0 ? -1 - static_cast<int>(t) : from, static_cast<int>(j));
    }
  }
  {
    std::vector<int> last_use(static_cast<std::size_t>(nt), -1);
    for (std::size_t k = 0; k < N; ++k)
      for (int t : nodes_[k].inputs) last_use[static_cast<std::size_t>(t)] = static_cast<int>(k);
    BufferPool pool;
    for (std::size_t k = 0; k < N; ++k) {
      const auto t = static_cast<std::size_t>(nodes_[k].output);
      if (p.predict_out[t] < 0) p.act_buffer[t] = pool.acquire(tensor_features(static_cast<int>(t)));
      // Release after acquiring: a layer never writes its input's buffer.
      for (int u : nodes_[k].inputs) {
        const auto uu = static_cast<std::size_t>(u);
        if (last_use[uu] == static_cast<int>(k) && p.act_buffer[uu] >= 0) {
          pool.release(p.act_buffer[uu]);
          last_use[uu] = -2;  // released once even when listed twice
        }
      }
      // An unconsumed tensor that is not written to an output cannot exist (check_graph).
    }
    p.act_widths = pool.widths;
  }

  // ---- training: which tensors need a gradient, and the gradient buffers
  p.run_backward.assign(N, 0);
  std::vector<char> needs(static_cast<std::size_t>(nt), 0);  // tensor needs a gradient
  for (std::size_t k = 0; k < N; ++k) {
    bool trainable = false;
    for (const auto& s : nodes_[k].layer->param_specs()) trainable = trainable || s.trainable;
    for (int t : nodes_[k].inputs) trainable = trainable || needs[static_cast<std::size_t>(t)];
    p.run_backward[k] = trainable ? 1 : 0;
    needs[static_cast<std::size_t>(nodes_[k].output)] = trainable ? 1 : 0;
  }
  p.grad_buffer.assign(static_cast<std::size_t>(nt), -1);
  p.grad_scratch.assign(N, {});
  p.loss_scratch.assign(outs.size(), -1);
  BufferPool pool;
  std::vector<char> started(static_cast<std::size_t>(nt), 0);
  // The losses write the outputs' gradients first (a repeated output adds through a scratch,
  // released at once: the trainer adds it before the next loss).
  for (std::size_t j = 0; j < outs.size(); ++j) {
    const auto t = static_cast<std::size_t>(outs[j]);
    if (!needs[t]) continue;
    if (!started[t]) {
      p.grad_buffer[t] = pool.acquire(tensor_features(static_cast<int>(t)));
      started[t] = 1;
    } else {
      p.loss_scratch[j] = pool.acquire(tensor_features(static_cast<int>(t)));
      pool.release(p.loss_scratch[j]);
    }
  }
  for (std::size_t k = N; k-- > 0;) {
    const GraphNode& n = nodes_[k];
    auto& scratch = p.grad_scratch[k];
    scratch.assign(n.inputs.size(), -1);
    if (!p.run_backward[k]) continue;
    std::vector<int> taken;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const auto t = static_cast<std::size_t>(n.inputs[i]);
      if (!needs[t]) continue;
      if (!started[t]) {
        p.grad_buffer[t] = pool.acquire(tensor_features(static_cast<int>(t)));
        started[t] = 1;
      } else {
        scratch[i] = pool.acquire(tensor_features(static_cast<int>(t)));
        taken.push_back(scratch[i]);
      }
    }
    for (int b : taken) pool.release(b);
    const int g = p.grad_buffer[static_cast<std::size_t>(n.output)];
    if (g >= 0) pool.release(g);
  }
  p.grad_widths = pool.widths;
  return p;
}

void Network::finalize(std::int64_t input_features) {
  if (nodes_.empty()) throw std::invalid_argument("Network: a model needs at least one layer");
  // The one width check every chain builder goes through (Python's Sequential, the C++ API,
  // the model-file loaders): a layer built for N inputs cannot run on rows of M != N values.
  if (input_features <= 0)
    throw std::invalid_argument("Network: the model's input width must be positive, got " +
                                std::to_string(input_features));
  if (implicit_input_) {
    const std::int64_t old = input_widths_[0];
    input_widths_[0] = input_features;
    try {
      finalize();
    } catch (...) {
      input_widths_[0] = old;
      throw;
    }
    return;
  }
  if (num_inputs() != 1 || input_widths_[0] != input_features)
    throw std::invalid_argument("Network.finalize: the model's input width " + std::to_string(input_features) +
                                " does not match its graph input(s)");
  finalize();
}

void Network::finalize() {
  if (finalized_) throw std::logic_error("Network.finalize: the network is already finalized");
  if (nodes_.empty()) throw std::invalid_argument("Network: a model needs at least one layer");
  if (num_inputs() == 0) throw std::invalid_argument("Network: a model needs at least one input");
  for (std::size_t i = 0; i < input_widths_.size(); ++i)
    if (input_widths_[i] <= 0)
      throw std::invalid_argument("Network: graph input " + std::to_string(i) + " has no positive width (" +
                                  std::to_string(input_widths_[i]) + "; call finalize(width))");
  const bool default_outputs = !outputs_set_;
  const std::vector<int> old_outputs = outputs_;
  if (default_outputs) outputs_ = {nodes_.back().output};
  try {
    check_graph();
  } catch (...) {
    outputs_ = old_outputs;
    throw;
  }
  std::vector<TensorSlot> tensors;
  std::vector<SharedGrad> shared;
  std::int64_t np = 0, ns = 0, nsh = 0;
  std::vector<std::size_t> first_slot(nodes_.size(), 0);
  const auto weights_size = [](const std::vector<std::int64_t>& shape) {
    std::int64_t size = 1;
    for (auto d : shape)
      size = static_cast<std::int64_t>(
          alloc_bytes("the model's weights", static_cast<std::uint64_t>(size), static_cast<std::uint64_t>(d), 1));
    return size;
  };
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    first_slot[k] = tensors.size();
    const auto specs = layers_[k]->param_specs();
    if (nodes_[k].shares_with >= 0) {
      const std::size_t o = static_cast<std::size_t>(nodes_[k].shares_with);
      for (std::size_t j = 0; j < specs.size(); ++j) {
        if (!specs[j].trainable) continue;
        const int slot = static_cast<int>(first_slot[o] + j);
        shared.push_back({static_cast<int>(k), nsh, slot});
        nsh += weights_size(specs[j].shape);
      }
      continue;
    }
    for (std::size_t j = 0; j < specs.size(); ++j) {
      TensorSlot t;
      t.layer = static_cast<int>(k);
      t.index = static_cast<int>(j);
      t.name = specs[j].name;
      t.shape = specs[j].shape;
      t.trainable = specs[j].trainable;
      t.size = weights_size(t.shape);
      t.offset = t.trainable ? np : ns;
      (t.trainable ? np : ns) += t.size;
      tensors.push_back(std::move(t));
    }
  }
  WorkspacePlan plan;
  try {
    plan = make_plan();
  } catch (...) {
    outputs_ = old_outputs;
    throw;
  }
  // Allocate everything first, then commit: a failure leaves the network as it was.
  FloatBuffer params, grads, state, sgrads;
  try {
    params.resize(np, "the model's trainable weights");
    grads.resize(np, "the model's gradients");
    state.resize(ns, "the model's non-trainable weights");
    sgrads.resize(nsh, "the shared layers' gradients");
  } catch (...) {
    outputs_ = old_outputs;
    throw;
  }
  tensors_.swap(tensors);
  shared_slots_.swap(shared);
  params_ = std::move(params);
  grads_ = std::move(grads);
  state_ = std::move(state);
  shared_grads_ = std::move(sgrads);
  plan_ = std::move(plan);
  finalized_ = true;
}

void Network::bind_all() {
  std::vector<std::size_t> first_slot(nodes_.size(), 0);
  std::size_t k = 0;
  for (std::size_t li = 0; li < nodes_.size(); ++li) {
    first_slot[li] = k;
    std::vector<float*> p, g;
    if (nodes_[li].shares_with >= 0) {
      // The owner's weights, this node's own gradient region (summed in by sum_shared_grads).
      const std::size_t o = static_cast<std::size_t>(nodes_[li].shares_with);
      std::size_t s = 0;
      while (s < shared_slots_.size() && shared_slots_[s].node != static_cast<int>(li)) ++s;
      for (std::size_t j = first_slot[o]; j < tensors_.size() && tensors_[j].layer == static_cast<int>(o); ++j) {
        const TensorSlot& t = tensors_[j];
        p.push_back((t.trainable ? params_.data() : state_.data()) + t.offset);
        if (t.trainable) {
          g.push_back(shared_grads_.data() + shared_slots_[s].offset);
          ++s;
        } else {
          g.push_back(nullptr);
        }
      }
      layers_[li]->bind(p, g);
      continue;
    }
    while (k < tensors_.size() && tensors_[k].layer == static_cast<int>(li)) {
      const TensorSlot& t = tensors_[k];
      p.push_back((t.trainable ? params_.data() : state_.data()) + t.offset);
      g.push_back(t.trainable ? grads_.data() + t.offset : nullptr);
      ++k;
    }
    layers_[li]->bind(p, g);
  }
}

void Network::sum_shared_grads() {
  // In node order, one region at a time: the sum's order never depends on the thread count.
  for (const SharedGrad& s : shared_slots_) {
    const TensorSlot& t = tensors_[static_cast<std::size_t>(s.slot)];
    float* dst = grads_.data() + t.offset;
    const float* src = shared_grads_.data() + s.offset;
    for (std::int64_t i = 0; i < t.size; ++i) dst[i] += src[i];
  }
}

void Network::predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size) {
  predict_arrays(&x, 1, n, &out, 1, batch_size);  // no allocation per call (single-sample latency)
}

void Network::predict(const std::vector<const float*>& xs, std::int64_t n, const std::vector<float*>& outs,
                      std::int64_t batch_size) {
  predict_arrays(xs.data(), xs.size(), n, outs.data(), outs.size(), batch_size);
}

void Network::predict_arrays(const float* const* xs, std::size_t nx, std::int64_t n, float* const* outs,
                             std::size_t nout, std::int64_t batch_size) {
  if (!finalized_) throw std::logic_error("Network.predict: the network is not finalized");
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  if (static_cast<int>(nx) != num_inputs() || static_cast<int>(nout) != num_outputs())
    throw std::invalid_argument("predict: the model takes " + std::to_string(num_inputs()) + " input(s) and gives " +
                                std::to_string(num_outputs()) + " output(s), got " + std::to_string(nx) + " and " +
                                std::to_string(nout));
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(infer_mu_);
  FtzScope ftz;
  const std::int64_t cap = std::min(batch_size, n);
  if (cap > predict_cap_ || predict_ws_.size() != plan_.act_widths.size()) {
    // Allocate first, commit on success.
    std::vector<FloatBuffer> ws;
    checked_reserve(ws, plan_.act_widths.size(), "predict's workspace list");
    for (std::int64_t w : plan_.act_widths)
      ws.emplace_back(static_cast<std::int64_t>(alloc_bytes("predict's workspace", static_cast<std::uint64_t>(cap),
                                                            static_cast<std::uint64_t>(w), 1)),
                      "predict's workspace");
    std::vector<const float*> in(static_cast<std::size_t>(num_tensors()), nullptr);
    std::size_t widest = 1;
    for (const auto& nd : nodes_) widest = std::max(widest, nd.inputs.size());
    std::vector<const float*> node_in(widest, nullptr);
    for (const auto& l : layers_) l->reserve(cap);  // each layer commits only on success
    predict_ws_.swap(ws);
    pred_in_.swap(in);
    pred_node_in_.swap(node_in);
    predict_cap_ = cap;
  } else {
    for (const auto& l : layers_) l->reserve(cap);
  }
  ForwardCtx ctx;
  ctx.training = false;
  const int ni = num_inputs();
  std::vector<const float*>& act = pred_in_;
  for (std::int64_t s = 0; s < n; s += cap) {
    const std::int64_t b = std::min(cap, n - s);
    for (int i = 0; i < ni; ++i) act[static_cast<std::size_t>(i)] = xs[static_cast<std::size_t>(i)] + s * input_widths_[static_cast<std::size_t>(i)];
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      const GraphNode& nd = nodes_[k];
      const auto t = static_cast<std::size_t>(nd.output);
      const int j = plan_.predict_out[t];
      float* y = j >= 0 ? outs[static_cast<std::size_t>(j)] + s * tensor_features(nd.output)
                        : predict_ws_[static_cast<std::size_t>(plan_.act_buffer[t])].data();
      if (nd.inputs.size() == 1) {
        nd.layer->forward(act[static_cast<std::size_t>(nd.inputs[0])], y, b, ctx);
      } else {
        const float** p = pred_node_in_.data();
        for (std::size_t i = 0; i < nd.inputs.size(); ++i) p[i] = act[static_cast<std::size_t>(nd.inputs[i])];
        nd.layer->forward_inputs(p, y, b, ctx);
      }
      act[t] = y;
    }
    for (const auto& c : plan_.predict_copy) {
      const std::size_t to = static_cast<std::size_t>(c.second);
      const int t = outputs_[to];
      const std::int64_t w = tensor_features(t);
      const float* from = c.first >= 0 ? outs[static_cast<std::size_t>(c.first)] + s * w : act[static_cast<std::size_t>(t)];
      std::memcpy(outs[to] + s * w, from, sizeof(float) * static_cast<std::size_t>(b * w));
    }
  }
}

double Network::regularization(bool add_grad) {
  double s = 0.0;
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (nodes_[k].shares_with < 0) s += layers_[k]->regularization(add_grad);
  return s;
}

void Network::apply_constraints() {
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (nodes_[k].shares_with < 0) layers_[k]->apply_constraints();
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
