// model/network.h: the network, a DAG of layers over flat parameter buffers (a chain for
// Sequential). The trainer that runs whole epochs over it is in model/trainer.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer.h"
#include "losses/losses.h"
#include "metrics/metrics.h"

namespace ranvier {

class Optimizer;

// Where one layer parameter lives inside the network's flat buffers.
struct TensorSlot {
  int layer = 0;             // index in the network
  int index = 0;             // index in the layer's param_specs()
  std::string name;          // e.g. "kernel"
  std::vector<std::int64_t> shape;
  bool trainable = true;     // trainable -> params()/grads(), else state()
  std::int64_t offset = 0;   // in floats, inside params() or state()
  std::int64_t size = 0;
};

// A 64-byte aligned float buffer that never reallocates behind your back.
class FloatBuffer {
 public:
  FloatBuffer() = default;
  explicit FloatBuffer(std::int64_t n, const char* what = "a float buffer") { resize(n, what); }
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;
  FloatBuffer(FloatBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; o.size_ = 0; }
  FloatBuffer& operator=(FloatBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~FloatBuffer();
  // Contents are zeroed. `what` names the buffer in an allocation failure (AllocError,
  // see runtime/alloc.h); on failure the buffer keeps its old block and size.
  void resize(std::int64_t n, const char* what = "a float buffer");
  float* data() { return data_; }
  const float* data() const { return data_; }
  std::int64_t size() const { return size_; }

 private:
  float* data_ = nullptr;
  std::int64_t size_ = 0;
};

// One node of the graph: a layer applied to tensors. Tensor ids: the graph inputs first
// (0 .. num_inputs()-1, in add_input order), then one per node (its output), in node order.
struct GraphNode {
  std::shared_ptr<Layer> layer;
  std::vector<int> inputs;  // tensor ids, in the layer's input order
  int output = -1;          // tensor id of the node's output
  int shares_with = -1;     // index of an earlier node whose weights this node's layer uses
                            // (a Keras layer called twice); -1: owns its weights
};

// Which buffers hold each tensor, computed once at finalize (independent of the batch size:
// widths are floats per row). Buffers whose lifetimes ended are reused.
struct WorkspacePlan {
  // predict: activation buffer per tensor; -1 for a graph input (read in place) and for a
  // tensor written straight into a caller's output array (see predict_out).
  std::vector<int> act_buffer;
  std::vector<std::int64_t> act_widths;  // per activation buffer
  // predict: the output index a tensor is written to (-1: none); a graph output that is a
  // graph input, or a second listing of one tensor, is copied (predict_copy: from, to).
  std::vector<int> predict_out;
  std::vector<std::pair<int, int>> predict_copy;  // (output j written, output j2 copied to)

  // training: every node's output activation is kept for backward (one buffer per node).
  // Gradient buffer per tensor (-1: no gradient, e.g. a graph input or a tensor nothing
  // trainable lies before).
  std::vector<int> grad_buffer;
  // per node, per input slot: -1 = backward writes the input's gradient in place (the first
  // contribution), else a scratch gradient buffer it writes and the trainer then adds in
  // (fan-out). Slots whose tensor needs no gradient get a null dx.
  std::vector<std::vector<int>> grad_scratch;
  // per output: -1 = the loss writes the tensor's gradient, else a scratch added in.
  std::vector<int> loss_scratch;
  std::vector<char> run_backward;  // per node: 0 when nothing before it (inclusive) is trainable
  std::vector<std::int64_t> grad_widths;  // per gradient buffer
};

class Network {
 public:
  // ---- Building a graph. Tensor ids: inputs first, then one per node (in order).
  // A graph input of `features` values per row; returns its tensor id. Inputs come first
  // (before any add_node / add).
  int add_input(std::int64_t features, std::string name = "");
  // Adds a node: `layer` already built (build_inputs) for the input tensors' widths (checked
  // at finalize). Returns its output tensor id. shares_with = index of an earlier node:
  // `layer` is a second core of that node's layer (same type and weight shapes), bound to
  // that node's weights, its gradients summed into them after backward; it owns no TensorSlot.
  int add_node(std::shared_ptr<Layer> layer, std::vector<int> input_tensors, int shares_with = -1);
  // The model's outputs (tensor ids, in order; repeats allowed). Default: the last node's output.
  void set_outputs(std::vector<int> tensors);
  // A chain (Sequential, the model-file loaders, the C++ API): add_node(layer, {the last
  // tensor}). With no input yet, the input is created by finalize(width).
  void add(std::shared_ptr<Layer> layer);

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  // Node layers in node order (a chain: one per add(), as before).
  const std::vector<std::shared_ptr<Layer>>& layers() const { return layers_; }
  int num_inputs() const { return static_cast<int>(input_widths_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  int num_tensors() const { return num_inputs() + static_cast<int>(nodes_.size()); }
  std::int64_t input_features(int i) const;
  std::int64_t output_features(int j) const;
  const std::string& input_name(int i) const;
  const std::vector<int>& outputs() const { return outputs_; }
  std::int64_t tensor_features(int t) const;
  // The node producing tensor t (-1 for a graph input).
  int producer(int t) const { return t < num_inputs() ? -1 : t - num_inputs(); }

  // Checks the graph (every node's inputs exist and have the widths its layer was built
  // for, every graph input is used, every node output is used or is an output, sharing
  // nodes match their owners) and sizes the flat buffers (all zero) and the workspace plan.
  // The caller then binds each layer to its slots (bind_all; Python copies the initialized
  // weights in). Errors (invalid_argument) name the node's layer. On failure (bad graph,
  // AllocError) the network is unchanged.
  void finalize();
  // A chain's finalize: creates the input (when add() made none) and checks the model's
  // input width against what layer 0 was built for.
  void finalize(std::int64_t input_features);
  bool finalized() const { return finalized_; }

  std::int64_t in_features() const;   // input 0's width (0 when none)
  std::int64_t out_features() const;  // output 0's width (0 when none)
  std::int64_t max_features() const;  // widest tensor

  const std::vector<TensorSlot>& tensors() const { return tensors_; }
  FloatBuffer& params() { return params_; }   // trainable, in node order
  FloatBuffer& grads() { return grads_; }     // same layout as params
  FloatBuffer& state() { return state_; }     // non-trainable (e.g. BN moving stats)
  // Binds every layer to its slots in the flat buffers (a sharing node: to its owner's
  // weights, with its own gradient region).
  void bind_all();
  // Adds the sharing nodes' gradient regions into their owners' gradients (the trainer
  // calls it after backward, before the gradient hook).
  void sum_shared_grads();
  bool has_shared() const { return shared_grads_.size() > 0; }

  const WorkspacePlan& plan() const { return plan_; }

  // outs[j] (n x output_features(j)) = network(xs[i] (n x input_features(i))) in inference
  // mode, in batches of batch_size. Serialized by a mutex (layers own workspaces).
  void predict(const std::vector<const float*>& xs, std::int64_t n, const std::vector<float*>& outs,
               std::int64_t batch_size);
  // One input, one output.
  void predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size);

  // Sum of the layers' weight-regularization penalties (add_grad: into grads()); sharing
  // nodes are counted once (through their owner).
  double regularization(bool add_grad);
  void apply_constraints();

  // Counter of training steps taken (keys dropout masks); persists across fits.
  std::uint64_t train_steps = 0;

  // Training is exclusive: acquire() fails (returns false) while another fit runs.
  bool try_acquire_training() { return !training_.exchange(true); }
  void release_training() { training_.store(false); }

  std::mutex& inference_mutex() { return infer_mu_; }

 private:
  void check_graph() const;
  void predict_arrays(const float* const* xs, std::size_t nx, std::int64_t n, float* const* outs, std::size_t nout,
                      std::int64_t batch_size);
  WorkspacePlan make_plan() const;

  std::vector<GraphNode> nodes_;
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<std::int64_t> input_widths_;
  std::vector<std::string> input_names_;
  bool implicit_input_ = false;  // add() made input 0 (its width is settled by finalize(width))
  std::vector<int> outputs_;
  bool outputs_set_ = false;
  std::vector<TensorSlot> tensors_;
  FloatBuffer params_, grads_, state_;
  // Sharing nodes' own gradient regions: (node, offset in shared_grads_, owner's TensorSlot).
  struct SharedGrad { int node; std::int64_t offset; int slot; };
  std::vector<SharedGrad> shared_slots_;
  FloatBuffer shared_grads_;
  WorkspacePlan plan_;
  std::vector<FloatBuffer> predict_ws_;
  std::int64_t predict_cap_ = 0;
  std::vector<const float*> pred_in_;  // per tensor, the batch's rows (no allocation per batch)
  std::vector<const float*> pred_node_in_;  // one node's inputs
  bool finalized_ = false;
  std::atomic<bool> training_{false};
  std::mutex infer_mu_;
};

// True when every value is finite (no NaN/inf); vectorizable, no allocation.
bool all_finite(const float* p, std::int64_t n);

}  // namespace ranvier
