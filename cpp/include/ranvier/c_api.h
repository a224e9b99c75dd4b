/* ranvier's C API: load a saved model and predict (several inputs and outputs included).
 * No C++ types cross it, so C, Rust, Go, C# and others can call it through their FFI.
 *
 *   ranvier_model* m = NULL;
 *   if (ranvier_model_load("model.safetensors", &m) != RANVIER_OK) {
 *     fprintf(stderr, "%s\n", ranvier_last_error());
 *     return 1;
 *   }
 *   int64_t in = ranvier_model_input_size(m), out = ranvier_model_output_size(m);
 *   ...  x: n * in floats, y: n * out floats
 *   if (ranvier_model_predict(m, x, n, y, n * out) != RANVIER_OK) ...
 *   ranvier_model_free(m);
 *
 * Every function that can fail returns a ranvier_status; on failure it sets a message
 * for the calling thread, read with ranvier_last_error() (valid until the next call
 * that fails on that thread). A model may be used from several threads: predictions
 * on one model are serialized internally. */
#ifndef RANVIER_C_API_H
#define RANVIER_C_API_H

#include <stdint.h>

#if defined(_WIN32) && defined(RANVIER_SHARED)
#  if defined(RANVIER_BUILDING)
#    define RANVIER_API __declspec(dllexport)
#  else
#    define RANVIER_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define RANVIER_API __attribute__((visibility("default")))
#else
#  define RANVIER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ranvier_status {
  RANVIER_OK = 0,
  RANVIER_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, a wrong size, an invalid model file (the
                                         same checks as Python's load_model: one validation) */
  RANVIER_ERROR_IO = 2,               /* the file cannot be opened or read */
  RANVIER_ERROR_OUT_OF_MEMORY = 3,    /* the message says what could not be allocated, and its size */
  RANVIER_ERROR_INTERNAL = 4
} ranvier_status;

typedef struct ranvier_model ranvier_model; /* opaque */

/* Loads and fully validates a model file; *out receives the model (NULL on failure). */
RANVIER_API ranvier_status ranvier_model_load(const char* path, ranvier_model** out);

/* Values per input row / per output row (0 for a NULL model); a model with several inputs
 * or outputs: the first one's (see ranvier_model_input_width / _output_width). */
RANVIER_API int64_t ranvier_model_input_size(const ranvier_model* model);
RANVIER_API int64_t ranvier_model_output_size(const ranvier_model* model);

/* out[0 .. n*output_size) = model(x[0 .. n*input_size)) in inference mode (one input and
 * one output; ranvier_model_predict_multi for several).
 * out_len is the capacity of out in floats: it must be at least n * output_size. */
RANVIER_API ranvier_status ranvier_model_predict(ranvier_model* model, const float* x, int64_t n, float* out,
                                                 int64_t out_len);

/* ---- Several inputs and outputs (a functional model saved from Python; a Sequential
 * model has one of each, named as in Python).
 *
 *   int ni = ranvier_model_num_inputs(m), no = ranvier_model_num_outputs(m);
 *   const float* xs[2] = {x_num, x_cat};          -- n * ranvier_model_input_width(m, i) each
 *   float* ys[2] = {y0, y1};                      -- n * ranvier_model_output_width(m, j) each
 *   int64_t lens[2] = {n * w0, n * w1};
 *   ranvier_model_predict_multi(m, xs, ni, n, ys, lens, no);
 *
 * Inputs and outputs are in Python's order (model.inputs, model.outputs; a dict's in sorted
 * key order). Counts and widths are 0, names and dtypes NULL, for a NULL model or an index
 * out of range. Names and dtypes stay valid while the model lives. */
RANVIER_API int ranvier_model_num_inputs(const ranvier_model* model);
RANVIER_API int ranvier_model_num_outputs(const ranvier_model* model);
/* An input's name (its keras.Input's name) and an output's (the layer that makes it, or its
 * key when the model's outputs are a dict). */
RANVIER_API const char* ranvier_model_input_name(const ranvier_model* model, int i);
RANVIER_API const char* ranvier_model_output_name(const ranvier_model* model, int j);
/* Values per row. */
RANVIER_API int64_t ranvier_model_input_width(const ranvier_model* model, int i);
RANVIER_API int64_t ranvier_model_output_width(const ranvier_model* model, int j);
/* The dtype the model's Input declares, as Python names it: "float32"; "string" (an input
 * whose keys a StringLookup encodes: pass them through ranvier_model_encode_input_strings);
 * "int64" for the keys of an IntegerLookup (ranvier_model_encode_input_ints); another
 * integer dtype, or "int64" feeding an Embedding / CategoryEncoding: ids, passed as floats
 * holding the integers. */
RANVIER_API const char* ranvier_model_input_dtype(const ranvier_model* model, int i);

/* outputs[j][0 .. n*output_width(j)) = model(inputs[i][0 .. n*input_width(i))) in inference
 * mode. num_inputs / num_outputs must be the model's counts; output_lens[j] is the capacity
 * of outputs[j] in floats. */
RANVIER_API ranvier_status ranvier_model_predict_multi(ranvier_model* model, const float* const* inputs,
                                                       int num_inputs, int64_t n, float* const* outputs,
                                                       const int64_t* output_lens, int num_outputs);

/* Raw keys of input i (n * input_width(i) of them, row-major) encoded by the lookup layer
 * that input feeds (a graph input whose dtype is "string" / "int64"), as Python's predict
 * encodes them: out[k] = the layer's index of keys[k] (out_len >= n). keys[k] is lens[k]
 * bytes of UTF-8, or NUL-terminated when lens is NULL. */
RANVIER_API ranvier_status ranvier_model_encode_input_strings(ranvier_model* model, int i, const char* const* keys,
                                                              const int64_t* lens, int64_t n, float* out,
                                                              int64_t out_len);
RANVIER_API ranvier_status ranvier_model_encode_input_ints(ranvier_model* model, int i, const int64_t* keys,
                                                           int64_t n, float* out, int64_t out_len);

/* Raw keys: a model whose first layer is a StringLookup (IntegerLookup) takes keys, not
 * floats. These map n keys (row-major, input_size per row, as predict's x) to the float
 * indices ranvier_model_predict takes (Keras's index layout and OOV rules, as Python's
 * predict). layer: the lookup layer's name, or NULL for the first layer. keys[i] is
 * lens[i] bytes of UTF-8, or NUL-terminated when lens is NULL. out_len >= n. */
RANVIER_API ranvier_status ranvier_model_encode_strings(ranvier_model* model, const char* layer,
                                                        const char* const* keys, const int64_t* lens, int64_t n,
                                                        float* out, int64_t out_len);
RANVIER_API ranvier_status ranvier_model_encode_ints(ranvier_model* model, const char* layer, const int64_t* keys,
                                                     int64_t n, float* out, int64_t out_len);

/* Frees a model (NULL is allowed). */
RANVIER_API void ranvier_model_free(ranvier_model* model);

/* The calling thread's last error message ("" when none). */
RANVIER_API const char* ranvier_last_error(void);

/* The library version, e.g. "0.1.0". */
RANVIER_API const char* ranvier_version(void);

#ifdef __cplusplus
}
#endif

#endif /* RANVIER_C_API_H */
