#pragma once
// What both GEMM drivers (float32: gemm.cpp, bfloat16: bf16_gemm.cpp) share: the index
// arithmetic that splits work into parts, and each thread's grow-only scratch buffer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

namespace ranvier {
namespace gemm_detail {

inline std::int64_t min64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
// [begin, end) of part `idx` when `total` items are split into `parts` contiguous ranges.
inline std::int64_t split_point(std::int64_t total, int parts, int idx) { return total * idx / parts; }

// A grow-only, 64-byte aligned buffer of 4-byte words (floats, or pairs of bfloat16). Never
// shrinks; freed with its owner (the drivers keep one per thread, thread_local). words()/get()
// return nullptr when the allocation fails; `counter`, when given, counts the allocations
// (a test checks a warm GEMM makes none).
class AlignedBuffer {
 public:
  explicit AlignedBuffer(std::atomic<long>* counter = nullptr) : counter_(counter) {}
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }
  // At least n 4-byte words.
  void* words(std::size_t n) {
    if (n > cap_) {
      release();
      const std::size_t bytes = (n * 4 + 63) / 64 * 64;
      data_ = ::operator new(bytes, std::align_val_t(64), std::nothrow);
      cap_ = data_ ? n : 0;
      if (counter_) counter_->fetch_add(1, std::memory_order_relaxed);
    }
    return data_;
  }
  // At least n floats.
  float* get(std::size_t n) { return static_cast<float*>(words(n)); }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    cap_ = 0;
  }
  std::atomic<long>* counter_;
  void* data_ = nullptr;
  std::size_t cap_ = 0;
};

}  // namespace gemm_detail
}  // namespace ranvier
