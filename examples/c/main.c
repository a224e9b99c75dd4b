/* Loads a ranvier model file with the C API and prints its predictions.
 *
 *   predict_c MODEL [INPUT]
 *
 * INPUT: raw little-endian float32 values, n rows of input_size each (without it, one
 * row of zeros). Output: one line per row, 9 significant digits (exact for float32). */
#include <stdio.h>
#include <stdlib.h>

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
  int64_t in, out, n, r, j;
  float* x;
  float* y;
  long count = 0;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s MODEL [INPUT.f32]\n", argv[0]);
    return 2;
  }
  if (ranvier_model_load(argv[1], &model) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    return 1;
  }
  in = ranvier_model_input_size(model);
  out = ranvier_model_output_size(model);
  if (argc == 3) {
    x = read_floats(argv[2], &count);
    if (!x) {
      fprintf(stderr, "cannot read %s\n", argv[2]);
      ranvier_model_free(model);
      return 1;
    }
    if (count % in != 0) {
      fprintf(stderr, "%s holds %ld floats, not a whole number of rows of %lld\n", argv[2], count, (long long)in);
      free(x);
      ranvier_model_free(model);
      return 1;
    }
    n = count / in;
  } else {
    x = (float*)calloc((size_t)in, sizeof(float));
    n = 1;
  }
  y = (float*)malloc((size_t)(n * out > 0 ? n * out : 1) * sizeof(float));
  if (!x || !y) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  if (ranvier_model_predict(model, x, n, y, n * out) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    free(x);
    free(y);
    ranvier_model_free(model);
    return 1;
  }
  for (r = 0; r < n; ++r) {
    for (j = 0; j < out; ++j) printf(j ? " %.9g" : "%.9g", (double)y[r * out + j]);
    printf("\n");
  }
  free(x);
  free(y);
  ranvier_model_free(model);
  return 0;
}
