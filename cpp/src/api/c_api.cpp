// The C API (cpp/include/ranvier/c_api.h) over ranvier::Model: no exception crosses it.
#include "ranvier/c_api.h"

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "ranvier/model.hpp"

struct ranvier_model {
  ranvier::Model model;
};

namespace {

thread_local std::string g_last_error;

ranvier_status fail(ranvier_status code, const char* msg) {
  try {
    g_last_error = msg;
  } catch (...) {  // out of memory while storing the message: keep the old one
  }
  return code;
}

// Runs fn, mapping C++ exceptions to status codes and the thread's message.
template <class Fn>
ranvier_status guarded(Fn&& fn) {
  try {
    fn();
    return RANVIER_OK;
  } catch (const std::invalid_argument& e) {
    return fail(RANVIER_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::logic_error& e) {
    return fail(RANVIER_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc& e) {
    // ranvier's AllocError says what was being allocated and how large it was
    const char* what = e.what();
    return fail(RANVIER_ERROR_OUT_OF_MEMORY, (what && std::string(what) != "std::bad_alloc") ? what : "out of memory");
  } catch (const std::runtime_error& e) {
    return fail(RANVIER_ERROR_IO, e.what());
  } catch (const std::exception& e) {
    return fail(RANVIER_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(RANVIER_ERROR_INTERNAL, "unknown error");
  }
}

}  // namespace

extern "C" {

ranvier_status ranvier_model_load(const char* path, ranvier_model** out) {
  if (!out) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_load: out is NULL");
  *out = nullptr;
  if (!path) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_load: path is NULL");
  return guarded([&] { *out = new ranvier_model{ranvier::Model::load(path)}; });
}

int64_t ranvier_model_input_size(const ranvier_model* model) {
  if (!model) return 0;
  int64_t n = 0;
  guarded([&] { n = model->model.input_size(); });
  return n;
}

int64_t ranvier_model_output_size(const ranvier_model* model) {
  if (!model) return 0;
  int64_t n = 0;
  guarded([&] { n = model->model.output_size(); });
  return n;
}

ranvier_status ranvier_model_predict(ranvier_model* model, const float* x, int64_t n, float* out, int64_t out_len) {
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_predict: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_predict: n is negative");
  if (n == 0) return RANVIER_OK;
  if (!x || !out) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_predict: x or out is NULL");
  return guarded([&] {
    const int64_t k = model->model.output_size();
    if (n > INT64_MAX / k || out_len < n * k)
      throw std::invalid_argument("ranvier_model_predict: out holds " + std::to_string(out_len) +
                                  " floats but " + std::to_string(n) + " rows need n * output_size = " +
                                  (n > INT64_MAX / k ? std::string("more") : std::to_string(n * k)));
    model->model.predict(x, n, out, 256);
  });
}

ranvier_status ranvier_model_encode_strings(ranvier_model* model, const char* layer, const char* const* keys,
                                            const int64_t* lens, int64_t n, float* out, int64_t out_len) {
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_strings: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_strings: n is negative");
  if (n > 0 && (!keys || !out)) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_strings: keys or out is NULL");
  if (out_len < n) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_strings: out_len is less than n");
  return guarded([&] { model->model.encode_strings(keys, lens, n, out, layer ? layer : ""); });
}

ranvier_status ranvier_model_encode_ints(ranvier_model* model, const char* layer, const int64_t* keys, int64_t n,
                                         float* out, int64_t out_len) {
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_ints: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_ints: n is negative");
  if (n > 0 && (!keys || !out)) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_ints: keys or out is NULL");
  if (out_len < n) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_ints: out_len is less than n");
  return guarded([&] { model->model.encode_ints(keys, n, out, layer ? layer : ""); });
}

void ranvier_model_free(ranvier_model* model) { delete model; }

const char* ranvier_last_error(void) { return g_last_error.c_str(); }

const char* ranvier_version(void) { return ranvier::version(); }

}  // extern "C"
