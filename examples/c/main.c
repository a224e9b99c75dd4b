/* Loads a ranvier model file with the C API and prints its predictions.
 *
 *   predict_c MODEL [INPUT ...]
 *
 * One INPUT file per model input, in the model's input order (a dict of inputs: sorted by
 * name; the app lists what it expects when the count is wrong):
 *   - a float32 input: raw little-endian float32 values, n rows of its width each;
 *   - an "int64" input (it feeds an IntegerLookup): raw little-endian int64 keys;
 *   - a "string" input (it feeds a StringLookup): a text file, one key per line.
 * Keys are encoded by the model's lookup layer (ranvier_model_encode_input_*), as Python's
 * predict does. Without INPUT files: one row of zeros (float32 inputs only). Output: one
 * line per row, every output's values in order, 9 significant digits (exact for float32). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ranvier/c_api.h>

static char* read_file(const char* path, long* bytes) {
  FILE* f = fopen(path, "rb");
  char* data;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (*bytes = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  data = (char*)malloc(*bytes > 0 ? (size_t)*bytes + 1 : 1);
  if (data && *bytes > 0 && fread(data, 1, (size_t)*bytes, f) != (size_t)*bytes) {
    free(data);
    data = NULL;
  }
  if (data) data[*bytes > 0 ? *bytes : 0] = '\0';
  fclose(f);
  return data;
}

/* Input i's floats from path (keys encoded by its lookup layer); *rows receives the row
 * count. NULL on failure (a message printed). */
static float* read_input(ranvier_model* model, int i, const char* path, int64_t* rows) {
  const int64_t w = ranvier_model_input_width(model, i);
  const char* dtype = ranvier_model_input_dtype(model, i);
  long bytes = 0;
  int64_t count = 0, k;
  char* data = read_file(path, &bytes);
  float* x = NULL;
  if (!data) {
    fprintf(stderr, "cannot read %s\n", path);
    return NULL;
  }
  if (strcmp(dtype, "string") == 0) { /* one key per line */
    const char** keys;
    char* p = data;
    for (k = 0; k < bytes; ++k) count += data[k] == '\n';
    if (bytes > 0 && data[bytes - 1] != '\n') ++count;
    keys = (const char**)malloc((size_t)(count > 0 ? count : 1) * sizeof(char*));
    x = (float*)malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    for (k = 0; k < count && keys; ++k) {
      char* nl = strchr(p, '\n');
      if (nl) *nl = '\0';
      keys[k] = p;
      p = nl ? nl + 1 : p + strlen(p);
    }
    if (!keys || !x || count % w != 0 ||
        ranvier_model_encode_input_strings(model, i, keys, NULL, count, x, count) != RANVIER_OK) {
      fprintf(stderr, "%s: %s\n", path, count % w ? "not whole rows of keys" : ranvier_last_error());
      free(x);
      x = NULL;
    }
    free((void*)keys);
  } else if (strcmp(dtype, "int64") == 0) {
    count = (int64_t)(bytes / (long)sizeof(int64_t));
    x = (float*)malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    if (!x || bytes % (long)sizeof(int64_t) != 0 || count % w != 0 ||
        ranvier_model_encode_input_ints(model, i, (const int64_t*)(void*)data, count, x, count) != RANVIER_OK) {
      fprintf(stderr, "%s: %s\n", path, ranvier_last_error());
      free(x);
      x = NULL;
    }
  } else {
    count = (int64_t)(bytes / (long)sizeof(float));
    x = (float*)malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    if (x) memcpy(x, data, (size_t)count * sizeof(float));
    if (!x || bytes % (long)sizeof(float) != 0 || count % w != 0) {
      fprintf(stderr, "%s holds %ld bytes, not a whole number of rows of %lld floats\n", path, bytes, (long long)w);
      free(x);
      x = NULL;
    }
  }
  free(data);
  *rows = count / w;
  return x;
}

int main(int argc, char** argv) {
  ranvier_model* model = NULL;
  int ni, no, i, j, status = 1;
  int64_t n = -1, r, c, rows;
  float** xs = NULL;
  float** ys = NULL;
  int64_t* lens = NULL;
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL [INPUT ...]\n", argv[0]);
    return 2;
  }
  if (ranvier_model_load(argv[1], &model) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    return 1;
  }
  ni = ranvier_model_num_inputs(model);
  no = ranvier_model_num_outputs(model);
  if (argc != 2 && argc != 2 + ni) {
    fprintf(stderr, "%s takes %d input file(s):", argv[1], ni);
    for (i = 0; i < ni; ++i)
      fprintf(stderr, " %s (%s, %lld per row)", ranvier_model_input_name(model, i), ranvier_model_input_dtype(model, i),
              (long long)ranvier_model_input_width(model, i));
    fprintf(stderr, "\n");
    ranvier_model_free(model);
    return 2;
  }
  xs = (float**)calloc((size_t)ni, sizeof(float*));
  ys = (float**)calloc((size_t)no, sizeof(float*));
  lens = (int64_t*)calloc((size_t)no, sizeof(int64_t));
  if (!xs || !ys || !lens) goto done;
  for (i = 0; i < ni; ++i) {
    rows = 1;
    if (argc == 2) {
      if (strcmp(ranvier_model_input_dtype(model, i), "float32") != 0) {
        fprintf(stderr, "input '%s' takes keys: pass a file\n", ranvier_model_input_name(model, i));
        goto done;
      }
      xs[i] = (float*)calloc((size_t)ranvier_model_input_width(model, i), sizeof(float));
    } else {
      xs[i] = read_input(model, i, argv[2 + i], &rows);
    }
    if (!xs[i]) goto done;
    if (n >= 0 && rows != n) {
      fprintf(stderr, "input '%s' has %lld rows, not %lld\n", ranvier_model_input_name(model, i), (long long)rows,
              (long long)n);
      goto done;
    }
    n = rows;
  }
  for (j = 0; j < no; ++j) {
    lens[j] = n * ranvier_model_output_width(model, j);
    ys[j] = (float*)malloc((size_t)(lens[j] > 0 ? lens[j] : 1) * sizeof(float));
    if (!ys[j]) goto done;
  }
  if (ranvier_model_predict_multi(model, (const float* const*)xs, ni, n, ys, lens, no) != RANVIER_OK) {
    fprintf(stderr, "error: %s\n", ranvier_last_error());
    goto done;
  }
  for (r = 0; r < n; ++r) {
    int first = 1;
    for (j = 0; j < no; ++j) {
      const int64_t k = ranvier_model_output_width(model, j);
      for (c = 0; c < k; ++c) {
        printf(first ? "%.9g" : " %.9g", (double)ys[j][r * k + c]);
        first = 0;
      }
    }
    printf("\n");
  }
  status = 0;
done:
  for (i = 0; xs && i < ni; ++i) free(xs[i]);
  for (j = 0; ys && j < no; ++j) free(ys[j]);
  free(xs);
  free(ys);
  free(lens);
  ranvier_model_free(model);
  return status;
}
