// Builds and trains an MLP with the C++ API alone (no Python), then saves it.
//
//   train OUT_MODEL
//
// The data are synthetic: 10 features, 3 classes decided by two linear rules. The saved
// file is the same format Python's model.save writes: ranvier.models.load_model reads
// it (and resumes training), and the predict app runs it.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <ranvier/ranvier.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_MODEL\n", argv[0]);
    return 2;
  }
  const int n = 600, d = 10;
  std::vector<float> x(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
  std::uint64_t s = 2024;
  for (int i = 0; i < n; ++i) {
    float a = 0.0f, b = 0.0f;
    for (int j = 0; j < d; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const float v = static_cast<float>(s >> 40) / 16777216.0f * 4.0f - 2.0f;  // uniform [-2, 2)
      x[static_cast<std::size_t>(i * d + j)] = v;
      if (j < 3) a += v;
      if (j == 3) b = v;
    }
    y[static_cast<std::size_t>(i)] = static_cast<float>((a > 0 ? 1 : 0) + (b > 1 ? 1 : 0));  // class index
  }
  try {
    ranvier::Model model(/*seed=*/7);
    model.input(d)
        .add(ranvier::layers::Dense(32, "relu"))
        .add(ranvier::layers::BatchNormalization())
        .add(ranvier::layers::Dropout(0.1))
        .add(ranvier::layers::Dense(3, "softmax"));
    model.compile({"adam", 0.01}, {"sparse_categorical_crossentropy"});
    ranvier::FitOptions fo;
    fo.epochs = 10;
    fo.batch_size = 32;
    fo.seed = 1;
    const ranvier::History h = model.fit(x.data(), y.data(), n, 1, fo);
    std::printf("loss: first epoch %.4f, last epoch %.4f\n", h.loss.front(), h.loss.back());
    model.save(argv[1]);
    std::printf("saved %lld parameters to %s\n", static_cast<long long>(model.count_params()), argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
