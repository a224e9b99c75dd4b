// The C API (cpp/include/ranvier/c_api.h) over ranvier::Model: no exception crosses it.
#include "ranvier/c_api.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "ranvier/model.hpp"

struct ranvier_model {
  ranvier::Model model;
  // what the name/dtype getters return (valid while the model lives)
  std::vector<std::string> input_names, output_names, input_dtypes;
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

template <class V>
const char* name_at(const ranvier_model* model, const V ranvier_model::*field, int i) {
  if (!model || i < 0 || static_cast<std::size_t>(i) >= (model->*field).size()) return nullptr;
  return (model->*field)[static_cast<std::size_t>(i)].c_str();
}

}  // namespace

extern "C" {

ranvier_status ranvier_model_load(const char* path, ranvier_model** out) {
  if (!out) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_load: out is NULL");
  *out = nullptr;
  if (!path) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_load: path is NULL");
  return guarded([&] {
    std::unique_ptr<ranvier_model> m(new ranvier_model{ranvier::Model::load(path), {}, {}, {}});
    for (int i = 0; i < m->model.num_inputs(); ++i) {
      m->input_names.push_back(m->model.input_name(i));
      m->input_dtypes.push_back(m->model.input_dtype(i));
    }
    for (int j = 0; j < m->model.num_outputs(); ++j) m->output_names.push_back(m->model.output_name(j));
    *out = m.release();
  });
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

int ranvier_model_num_inputs(const ranvier_model* model) {
  return model ? static_cast<int>(model->input_names.size()) : 0;
}

int ranvier_model_num_outputs(const ranvier_model* model) {
  return model ? static_cast<int>(model->output_names.size()) : 0;
}

const char* ranvier_model_input_name(const ranvier_model* model, int i) {
  return name_at(model, &ranvier_model::input_names, i);
}

const char* ranvier_model_output_name(const ranvier_model* model, int j) {
  return name_at(model, &ranvier_model::output_names, j);
}

const char* ranvier_model_input_dtype(const ranvier_model* model, int i) {
  return name_at(model, &ranvier_model::input_dtypes, i);
}

int64_t ranvier_model_input_width(const ranvier_model* model, int i) {
  if (!model || i < 0 || i >= ranvier_model_num_inputs(model)) return 0;
  int64_t w = 0;
  guarded([&] { w = model->model.input_width(i); });
  return w;
}

int64_t ranvier_model_output_width(const ranvier_model* model, int j) {
  if (!model || j < 0 || j >= ranvier_model_num_outputs(model)) return 0;
  int64_t w = 0;
  guarded([&] { w = model->model.output_width(j); });
  return w;
}

ranvier_status ranvier_model_predict_multi(ranvier_model* model, const float* const* inputs, int num_inputs, int64_t n,
                                           float* const* outputs, const int64_t* output_lens, int num_outputs) {
  static const char* fn = "ranvier_model_predict_multi";
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_predict_multi: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_predict_multi: n is negative");
  return guarded([&] {
    const int ni = ranvier_model_num_inputs(model), no = ranvier_model_num_outputs(model);
    if (num_inputs != ni || num_outputs != no)
      throw std::invalid_argument(std::string(fn) + ": the model has " + std::to_string(ni) + " input(s) and " +
                                  std::to_string(no) + " output(s), got num_inputs=" + std::to_string(num_inputs) +
                                  " and num_outputs=" + std::to_string(num_outputs));
    if (n == 0) return;
    if (!inputs || !outputs || !output_lens)
      throw std::invalid_argument(std::string(fn) + ": inputs, outputs or output_lens is NULL");
    std::vector<const float*> xs(inputs, inputs + ni);
    std::vector<float*> ys(outputs, outputs + no);
    for (int i = 0; i < ni; ++i)
      if (!xs[static_cast<std::size_t>(i)])
        throw std::invalid_argument(std::string(fn) + ": inputs[" + std::to_string(i) + "] ('" +
                                    model->input_names[static_cast<std::size_t>(i)] + "') is NULL");
    for (int j = 0; j < no; ++j) {
      const int64_t k = model->model.output_width(j);
      if (!ys[static_cast<std::size_t>(j)])
        throw std::invalid_argument(std::string(fn) + ": outputs[" + std::to_string(j) + "] is NULL");
      if (n > INT64_MAX / k || output_lens[j] < n * k)
        throw std::invalid_argument(std::string(fn) + ": outputs[" + std::to_string(j) + "] ('" +
                                    model->output_names[static_cast<std::size_t>(j)] + "') holds " +
                                    std::to_string(output_lens[j]) + " floats but " + std::to_string(n) +
                                    " rows need n * output_width = " +
                                    (n > INT64_MAX / k ? std::string("more") : std::to_string(n * k)));
    }
    model->model.predict(xs, n, ys, 256);
  });
}

ranvier_status ranvier_model_encode_input_strings(ranvier_model* model, int i, const char* const* keys,
                                                  const int64_t* lens, int64_t n, float* out, int64_t out_len) {
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_strings: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_strings: n is negative");
  if (n > 0 && (!keys || !out))
    return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_strings: keys or out is NULL");
  if (out_len < n)
    return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_strings: out_len is less than n");
  return guarded([&] { model->model.encode_input_strings(i, keys, lens, n, out); });
}

ranvier_status ranvier_model_encode_input_ints(ranvier_model* model, int i, const int64_t* keys, int64_t n, float* out,
                                               int64_t out_len) {
  if (!model) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_ints: model is NULL");
  if (n < 0) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_ints: n is negative");
  if (n > 0 && (!keys || !out))
    return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_ints: keys or out is NULL");
  if (out_len < n) return fail(RANVIER_ERROR_INVALID_ARGUMENT, "ranvier_model_encode_input_ints: out_len is less than n");
  return guarded([&] { model->model.encode_input_ints(i, keys, n, out); });
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
