// LayerNorm followed by Mish, forward and backward, one pass over memory each (see methods/common/fused.py).
//
// x (G, R, D) with a contiguous last dimension (rows may be strided); per-group affine w, b (G, D).
// Forward:  out = mish(x̂ ⊙ w + b), x̂ = (x − mean) · rstd, rstd = 1/√(var + eps) (biased variance, as LayerNorm);
//           returns out (G, R, D), mean (G, R), rstd (G, R).
// Backward: gy = g ⊙ mish'(y), y = x̂ ⊙ w + b;  dw = Σ_rows gy ⊙ x̂,  db = Σ_rows gy,
//           dx = rstd · (gy ⊙ w − mean_d(gy ⊙ w) − x̂ ⊙ mean_d(gy ⊙ w ⊙ x̂)).
// mish(y) = y·n/(n+2) with n = e(e+2), e = exp(min(y, 20)), and mish'(y) = n/(n+2) + 4·y·e·(e+1)/(n+2)²: the
// formulas of methods.common.layers.mish and of its autograd derivative.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/cpu/vec/functional.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using Vec = at::vec::Vectorized<float>;

inline Vec mish(Vec y) {
  const Vec e = at::vec::minimum(y, Vec(20.f)).exp();
  const Vec n = e * (e + Vec(2.f));
  return y * n / (n + Vec(2.f));
}

inline Vec mish_grad(Vec y) {
  const Vec e = at::vec::minimum(y, Vec(20.f)).exp();
  const Vec n = e * (e + Vec(2.f));
  const Vec r = Vec(1.f) / (n + Vec(2.f));
  return n * r + Vec(4.f) * y * e * (e + Vec(1.f)) * r * r;
}

inline float mish(float y) {
  const float e = std::exp(std::min(y, 20.f));
  const float n = e * (e + 2.f);
  return y * n / (n + 2.f);
}

inline float mish_grad(float y) {
  const float e = std::exp(std::min(y, 20.f));
  const float n = e * (e + 2.f);
  const float r = 1.f / (n + 2.f);
  return n * r + 4.f * y * e * (e + 1.f) * r * r;
}

inline float sum_all(const Vec& v) {
  return at::vec::vec_reduce_all<float>([](Vec& a, Vec& b) { return a + b; }, v);
}

void check(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  TORCH_CHECK(x.dim() == 3 && x.scalar_type() == torch::kFloat && x.device().is_cpu(),
              "ln_mish: x must be a float32 CPU tensor (G, R, D)");
  TORCH_CHECK(x.stride(2) == 1, "ln_mish: x's last dimension must be contiguous");
  TORCH_CHECK(w.sizes() == b.sizes() && w.dim() == 2 && w.size(0) == x.size(0) && w.size(1) == x.size(2),
              "ln_mish: weight and bias must be (G, D) for x (G, R, D)");
  TORCH_CHECK(w.is_contiguous() && b.is_contiguous() && w.scalar_type() == torch::kFloat &&
              b.scalar_type() == torch::kFloat, "ln_mish: weight and bias must be contiguous float32");
}

}  // namespace

std::vector<torch::Tensor> ln_mish_forward(torch::Tensor x, torch::Tensor w, torch::Tensor b, double eps) {
  check(x, w, b);
  const int64_t G = x.size(0), R = x.size(1), D = x.size(2), V = Vec::size(), DV = D - D % V;
  auto out = torch::empty({G, R, D}, x.options());
  auto mean = torch::empty({G, R}, x.options());
  auto rstd = torch::empty({G, R}, x.options());
  const int64_t sg = x.stride(0), sr = x.stride(1);
  const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(), *bp = b.data_ptr<float>();
  float *op = out.data_ptr<float>(), *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
  at::parallel_for(0, G * R, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t g = i / R;
      const float* xr = xp + g * sg + (i % R) * sr;
      const float *wg = wp + g * D, *bg = bp + g * D;
      float* orow = op + i * D;
      Vec acc(0.f);
      float tail = 0.f;
      int64_t d = 0;
      for (; d < DV; d += V) acc = acc + Vec::loadu(xr + d);
      for (; d < D; ++d) tail += xr[d];
      const float mu = (sum_all(acc) + tail) / D;
      const Vec vmu(mu);
      acc = Vec(0.f);
      tail = 0.f;
      for (d = 0; d < DV; d += V) {
        const Vec c = Vec::loadu(xr + d) - vmu;
        acc = acc + c * c;
      }
      for (; d < D; ++d) tail += (xr[d] - mu) * (xr[d] - mu);
      const float rs = 1.f / std::sqrt((sum_all(acc) + tail) / D + static_cast<float>(eps));
      const Vec vrs(rs);
      mp[i] = mu;
      rp[i] = rs;
      for (d = 0; d < DV; d += V)
        mish((Vec::loadu(xr + d) - vmu) * vrs * Vec::loadu(wg + d) + Vec::loadu(bg + d)).store(orow + d);
      for (; d < D; ++d) orow[d] = mish((xr[d] - mu) * rs * wg[d] + bg[d]);
    }
  });
  return {out, mean, rstd};
}

std::vector<torch::Tensor> ln_mish_backward(torch::Tensor grad, torch::Tensor x, torch::Tensor w, torch::Tensor b,
                                            torch::Tensor mean, torch::Tensor rstd) {
  check(x, w, b);
  const int64_t G = x.size(0), R = x.size(1), D = x.size(2), V = Vec::size(), DV = D - D % V;
  TORCH_CHECK(grad.sizes() == x.sizes() && mean.sizes() == rstd.sizes() && mean.size(0) == G && mean.size(1) == R,
              "ln_mish_backward: shapes do not match the forward's");
  const auto g = grad.contiguous();
  const auto m = mean.contiguous(), r = rstd.contiguous();
  auto dx = torch::empty({G, R, D}, x.options());
  // dw, db partial sums per thread (rows are split between threads), summed at the end: no atomics.
  const int64_t threads = at::get_num_threads();
  auto partial = torch::zeros({threads, G, 2, D}, x.options());
  const int64_t sg = x.stride(0), sr = x.stride(1);
  const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(), *bp = b.data_ptr<float>();
  const float *gp = g.data_ptr<float>(), *mp = m.data_ptr<float>(), *rp = r.data_ptr<float>();
  float *dxp = dx.data_ptr<float>(), *pp = partial.data_ptr<float>();
  at::parallel_for(0, G * R, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> gw(D);  // gy ⊙ w of the current row (in L1 for the second loop)
    float* acc = pp + static_cast<int64_t>(at::get_thread_num()) * G * 2 * D;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t gi = i / R;
      const float* xr = xp + gi * sg + (i % R) * sr;
      const float *gr = gp + i * D, *wg = wp + gi * D, *bg = bp + gi * D;
      float *dxr = dxp + i * D, *dw = acc + gi * 2 * D, *db = dw + D;
      const float mu = mp[i], rs = rp[i];
      const Vec vmu(mu), vrs(rs);
      Vec a1(0.f), a2(0.f);
      float t1 = 0.f, t2 = 0.f;
      int64_t d = 0;
      for (; d < DV; d += V) {
        const Vec xh = (Vec::loadu(xr + d) - vmu) * vrs, wv = Vec::loadu(wg + d);
        const Vec gy = Vec::loadu(gr + d) * mish_grad(xh * wv + Vec::loadu(bg + d));
        (Vec::loadu(dw + d) + gy * xh).store(dw + d);
        (Vec::loadu(db + d) + gy).store(db + d);
        const Vec gwv = gy * wv;
        gwv.store(gw.data() + d);
        a1 = a1 + gwv;
        a2 = a2 + gwv * xh;
      }
      for (; d < D; ++d) {
        const float xh = (xr[d] - mu) * rs, gy = gr[d] * mish_grad(xh * wg[d] + bg[d]);
        dw[d] += gy * xh;
        db[d] += gy;
        gw[d] = gy * wg[d];
        t1 += gw[d];
        t2 += gw[d] * xh;
      }
      const float m1 = (sum_all(a1) + t1) / D, m2 = (sum_all(a2) + t2) / D;
      const Vec vm1(m1), vm2(m2);
      for (d = 0; d < DV; d += V) {
        const Vec xh = (Vec::loadu(xr + d) - vmu) * vrs;
        (vrs * (Vec::loadu(gw.data() + d) - vm1 - xh * vm2)).store(dxr + d);
      }
      for (; d < D; ++d) dxr[d] = rs * (gw[d] - m1 - (xr[d] - mu) * rs * m2);
    }
  });
  const auto sums = partial.sum(0);  // (G, 2, D)
  return {dx, sums.select(1, 0).clone(), sums.select(1, 1).clone()};  // own storage: outputs must not alias
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &ln_mish_forward, "LayerNorm + Mish forward: out, mean, rstd");
  m.def("backward", &ln_mish_backward, "LayerNorm + Mish backward: dx, dw, db");
}
