// f16 rounding, avx2 tier (F16C): see f16-round.inl.
#define RV_F16_FILL fill_f16round_avx2
#define RV_F16_NAME "f16-round-f16c-avx2"
#include "kernels/f16-round/f16-round.inl"
