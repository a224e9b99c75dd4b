// model/network.h: the Sequential network (a chain of layers over flat parameter
// buffers). The trainer that runs whole epochs over it is in model/trainer.h.
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

class Network {
 public:
  // Layers are added already built (each knows its in/out features).
  void add(std::shared_ptr<Layer> layer);
  const std::vector<std::shared_ptr<Layer>>& layers() const { return layers_; }

  // Checks the chain's shapes against the model's input width (invalid_argument naming
  // both widths when layer 0 was built for another one) and sizes the flat buffers (all
  // zero). The caller then binds each layer to its slots (Python copies the initialized
  // weights in). On failure (bad chain, AllocError) the network is unchanged.
  void finalize(std::int64_t input_features);
  bool finalized() const { return finalized_; }

  std::int64_t in_features() const;
  std::int64_t out_features() const;
  std::int64_t max_features() const;  // widest layer input/output

  const std::vector<TensorSlot>& tensors() const { return tensors_; }
  FloatBuffer& params() { return params_; }   // trainable, in layer order
  FloatBuffer& grads() { return grads_; }     // same layout as params
  FloatBuffer& state() { return state_; }     // non-trainable (e.g. BN moving stats)
  // Binds every layer to its slots in the flat buffers.
  void bind_all();

  // out (n x out_features) = network(x (n x in_features)) in inference mode, in
  // batches of batch_size. Serialized by a mutex (layers own workspaces).
  void predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size);

  // Sum of the layers' weight-regularization penalties (add_grad: into grads()).
  double regularization(bool add_grad);
  void apply_constraints();

  // Counter of training steps taken (keys dropout masks); persists across fits.
  std::uint64_t train_steps = 0;

  // Training is exclusive: acquire() fails (returns false) while another fit runs.
  bool try_acquire_training() { return !training_.exchange(true); }
  void release_training() { training_.store(false); }

  std::mutex& inference_mutex() { return infer_mu_; }

 private:
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<TensorSlot> tensors_;
  FloatBuffer params_, grads_, state_;
  FloatBuffer predict_ws_;
  bool finalized_ = false;
  std::atomic<bool> training_{false};
  std::mutex infer_mu_;
};

// True when every value is finite (no NaN/inf); vectorizable, no allocation.
bool all_finite(const float* p, std::int64_t n);

}  // namespace ranvier
