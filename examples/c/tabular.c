/* Predicts with a model that has several inputs (the wide-and-deep model that
 * examples/train_tabular.py saves) through the C API.
 *
 *   predict_tabular_c MODEL ROWS_DIR
 *
 * ROWS_DIR holds one raw little-endian float32 file per model input, named after the input
 * (ROWS_DIR/num.f32, ROWS_DIR/store.f32, ...), each n rows of that input's width; integer
 * ids are written as exact float32 values, as the C API takes them. Output: one line per
 * row, every output's values side by side, 9 significant digits (exact for float32), the
 * format of examples/train_tabular.py's ROWS_DIR/python.txt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ranvier/c_api.h>

static float* read_floats(const char* path, long* count) {
  FILE* f = fopen(path, "rb");
  long bytes;
  float* data;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (bytes = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  data = (float*)malloc(bytes > 0 ? (size_t)bytes : 1);
  if (data && bytes > 0 && fread(data, 1, (size_t)bytes, f) != (size_t)bytes) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *count = bytes / (long)sizeof(float);
  return data;
}

int main(int argc, char** argv) {
  ranvier_model* model = NULL;
  int n_in, n_out, i, j;
  int64_t n = -1, r, c;
  const float** xs = NULL;
  float** ys = NULL;
  int64_t* lens = NULL;
  int status = 1;
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL ROWS_DIR\n", argv[0]);
    return 2;
  }
  if (ranvier_model_load(argv[1], &model) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    return 1;
  }
  n_in = ranvier_model_num_inputs(model);
  n_out = ranvier_model_num_outputs(model);
  xs = (const float**)calloc((size_t)n_in, sizeof(float*));
  ys = (float**)calloc((size_t)n_out, sizeof(float*));
  lens = (int64_t*)calloc((size_t)n_out, sizeof(int64_t));
  if (!xs || !ys || !lens) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  for (i = 0; i < n_in; ++i) {  /* one file per input, named after it */
    const char* name = ranvier_model_input_name(model, i);
    int64_t width = ranvier_model_input_width(model, i);
    size_t len = strlen(argv[2]) + strlen(name) + 6;
    char* path = (char*)malloc(len);
    long count = 0;
    /* Integer ids (an Input(dtype="int64") into an Embedding) travel as exact float32 values,
     * so every numeric input is read as floats; raw string keys would go through
     * ranvier_model_encode_strings first (not this example's model). */
    const char* dtype = ranvier_model_input_dtype(model, i);
    if (dtype && strcmp(dtype, "string") == 0) {
      fprintf(stderr, "input %s takes raw string keys (ranvier_model_encode_strings); this example reads float32 files\n",
              name);
      free(path);
      goto done;
    }
    if (!path) goto done;
    snprintf(path, len, "%s/%s.f32", argv[2], name);
    xs[i] = read_floats(path, &count);
    if (!xs[i] || width <= 0 || count % width != 0 || (n >= 0 && count / width != n)) {
      fprintf(stderr, "%s: cannot read it, or not %s rows of %lld floats\n", path, n >= 0 ? "the same number of" : "whole",
              (long long)width);
      free(path);
      goto done;
    }
    n = count / width;
    free(path);
  }
  for (j = 0; j < n_out; ++j) {
    lens[j] = n * ranvier_model_output_width(model, j);
    ys[j] = (float*)malloc((size_t)(lens[j] > 0 ? lens[j] : 1) * sizeof(float));
    if (!ys[j]) goto done;
  }
  if (ranvier_model_predict_multi(model, xs, n_in, n, ys, lens, n_out) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    goto done;
  }
  for (r = 0; r < n; ++r) {
    int first = 1;
    for (j = 0; j < n_out; ++j) {
      int64_t w = ranvier_model_output_width(model, j);
      for (c = 0; c < w; ++c) {
        printf(first ? "%.9g" : " %.9g", (double)ys[j][r * w + c]);
        first = 0;
      }
    }
    printf("\n");
  }
  status = 0;
done:
  for (i = 0; xs && i < n_in; ++i) free((void*)xs[i]);
  for (j = 0; ys && j < n_out; ++j) free(ys[j]);
  free((void*)xs);
  free(ys);
  free(lens);
  ranvier_model_free(model);
  return status;
}
