"""NumPy float64 reference of Keras 3's optimizers and learning-rate schedules.

Written from Keras 3's documented update rules, order of operations and schedules
(keras/src/optimizers), never from ranvier's code. Variables are lists of float64 arrays
updated in place by :meth:`RefOptimizer.apply`.
"""
from __future__ import annotations

import math
import re
from typing import Dict, List, Optional

import numpy as np


# ---------------------------------------------------------------- schedules
def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False, **_):
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    return initial_learning_rate * decay_rate ** p


def inverse_time_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False, **_):
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    return initial_learning_rate / (1 + decay_rate * p)


def polynomial_decay(step, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                     **_):
    if cycle:
        ds = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
        s = step
    else:
        ds = decay_steps
        s = min(step, decay_steps)
    return (initial_learning_rate - end_learning_rate) * (1 - s / ds) ** power + end_learning_rate


def cosine_decay(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0, **_):
    def decay(s, frm):
        return frm * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)

    if warmup_target is None:
        return decay(min(step, decay_steps), initial_learning_rate)
    s = min(step, decay_steps + warmup_steps)
    if s < warmup_steps:
        return initial_learning_rate + (warmup_target - initial_learning_rate) * s / warmup_steps
    return decay(s - warmup_steps, warmup_target)


def piecewise_constant_decay(step, boundaries, values, **_):
    if step <= boundaries[0]:
        return values[0]
    if step > boundaries[-1]:
        return values[-1]
    for i in range(len(boundaries) - 1):
        if boundaries[i] < step <= boundaries[i + 1]:
            return values[i + 1]
    raise AssertionError("unreachable")


def cosine_decay_restarts(step, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, **_):
    """SGDR by walking the periods explicitly (a different route from Keras's closed
    form, so the test checks the closed form too): period i has length
    first*t_mul^i and amplitude m_mul^i."""
    start, length, i = 0.0, float(first_decay_steps), 0
    while step >= start + length:
        start += length
        length *= t_mul
        i += 1
    frac = (step - start) / length
    return initial_learning_rate * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * frac)) + alpha)


SCHEDULES = {
    "ExponentialDecay": exponential_decay,
    "InverseTimeDecay": inverse_time_decay,
    "PolynomialDecay": polynomial_decay,
    "CosineDecay": cosine_decay,
    "PiecewiseConstantDecay": piecewise_constant_decay,
    "CosineDecayRestarts": cosine_decay_restarts,
}


# ---------------------------------------------------------------- optimizers
DEFAULTS = {
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "rmsprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
    "adadelta": dict(learning_rate=0.001, rho=0.95, epsilon=1e-7),
    "adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamw": dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamax": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "nadam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "lion": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.99),
    "lamb": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "ftrl": dict(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0),
}
COMMON = dict(weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
              ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
              gradient_accumulation_steps=None)


class RefOptimizer:
    """One Keras optimizer in float64. `learning_rate` may be a float, a callable
    step -> lr (a schedule), evaluated at the raw pre-increment step count."""

    def __init__(self, kind: str, names: Optional[List[str]] = None, exclude_names=None, **kwargs):
        self.kind = kind
        self.c = dict(COMMON)
        self.c.update(DEFAULTS[kind])
        self.c.update(kwargs)
        self.names = names
        self.exclude = re.compile("|".join(exclude_names)) if exclude_names else None
        self.raw = 0  # raw apply() calls
        self.slots: Optional[Dict[str, List[np.ndarray]]] = None
        self.u_product = 1.0

    @property
    def iterations(self):
        k = self.c["gradient_accumulation_steps"]
        return self.raw // k if k else self.raw

    def lr(self):
        lr = self.c["learning_rate"]
        return float(lr(self.raw)) if callable(lr) else float(np.float32(lr))

    def _build(self, variables):
        z = lambda: [np.zeros_like(v) for v in variables]  # noqa: E731
        c, k = self.c, self.kind
        s: Dict[str, List[np.ndarray]] = {}
        if k == "sgd" and c["momentum"] != 0:
            s["momentum"] = z()
        elif k == "rmsprop":
            s["velocity"] = z()
            if c["momentum"] > 0:
                s["momentum"] = z()
            if c["centered"]:
                s["average_gradient"] = z()
        elif k == "adagrad":
            s["accumulator"] = [np.full_like(v, c["initial_accumulator_value"]) for v in variables]
        elif k == "adadelta":
            s["accumulated_grad"], s["accumulated_delta_var"] = z(), z()
        elif k in ("adam", "adamw"):
            s["momentum"], s["velocity"] = z(), z()
            if c["amsgrad"]:
                s["velocity_hat"] = z()
        elif k == "adamax":
            s["momentum"], s["norm"] = z(), z()
        elif k == "nadam":
            s["momentum"], s["velocity"] = z(), z()
        elif k == "lion":
            s["momentum"] = z()
        elif k == "lamb":
            s["momentum"], s["velocity"] = z(), z()
        elif k == "ftrl":
            s["accumulator"] = [np.full_like(v, c["initial_accumulator_value"]) for v in variables]
            s["linear"] = z()
        if c["use_ema"]:
            s["average"] = z()
        if c["gradient_accumulation_steps"]:
            s["gradient_accumulator"] = z()
        self.slots = s

    def apply(self, grads: List[np.ndarray], variables: List[np.ndarray]):
        c = self.c
        if self.slots is None:
            self._build(variables)
        s = self.slots
        grads = [np.asarray(g, dtype=np.float64) for g in grads]
        if c["loss_scale_factor"] is not None:
            grads = [g / c["loss_scale_factor"] for g in grads]
        lr = self.lr()
        k = c["gradient_accumulation_steps"]
        if k and (self.raw + 1) % k != 0:
            for acc, g in zip(s["gradient_accumulator"], grads):
                acc += g
        else:
            if k:
                grads = [(g + acc) / k for g, acc in zip(grads, s["gradient_accumulator"])]
                for acc in s["gradient_accumulator"]:
                    acc[...] = 0
            grads = self._clip(grads)
            if c["weight_decay"] is not None:
                for i, v in enumerate(variables):
                    if self.exclude is not None and self.names and self.exclude.search(self.names[i]):
                        continue
                    v -= v * c["weight_decay"] * lr
            if self.kind == "nadam":
                t = self.iterations + 1
                self.u_product *= c["beta_1"] * (1 - 0.5 * 0.96 ** t)
            for i, (g, v) in enumerate(zip(grads, variables)):
                self._rule(i, g, v, lr)
        if c["use_ema"]:
            m = c["ema_momentum"] if self.iterations != 0 else 0.0
            for avg, v in zip(s["average"], variables):
                avg[...] = m * avg + (1 - m) * v
            f = c["ema_overwrite_frequency"]
            if f and (self.iterations + 1) % f == 0:
                for avg, v in zip(s["average"], variables):
                    v[...] = avg
        self.raw += 1

    def _clip(self, grads):
        c = self.c
        if c["clipnorm"]:
            out = []
            for g in grads:
                norm = math.sqrt(float(np.sum(g * g)))
                out.append(g * c["clipnorm"] / max(norm, c["clipnorm"]))
            return out
        if c["global_clipnorm"]:
            G = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            scale = min(1.0, c["global_clipnorm"] / G) if G > 0 else 1.0
            return [g * scale for g in grads]
        if c["clipvalue"]:
            return [np.clip(g, -c["clipvalue"], c["clipvalue"]) for g in grads]
        return grads

    def _rule(self, i, g, w, lr):
        c, s, k = self.c, self.slots, self.kind
        t = self.iterations + 1
        if k == "sgd":
            if c["momentum"] != 0:
                m = s["momentum"][i]
                m[...] = c["momentum"] * m - lr * g
                w += (c["momentum"] * m - lr * g) if c["nesterov"] else m
            else:
                w -= lr * g
        elif k == "rmsprop":
            rho = c["rho"]
            v = s["velocity"][i]
            v[...] = rho * v + (1 - rho) * g * g
            if c["centered"]:
                a = s["average_gradient"][i]
                a[...] = rho * a + (1 - rho) * g
                denom = v - a * a + c["epsilon"]
            else:
                denom = v + c["epsilon"]
            inc = lr * g / np.sqrt(denom)
            if c["momentum"] > 0:
                mom = s["momentum"][i]
                mom[...] = c["momentum"] * mom + inc
                w -= mom
            else:
                w -= inc
        elif k == "adagrad":
            acc = s["accumulator"][i]
            acc += g * g
            w -= lr * g / np.sqrt(acc + c["epsilon"])
        elif k == "adadelta":
            rho, eps = c["rho"], c["epsilon"]
            eg, ex = s["accumulated_grad"][i], s["accumulated_delta_var"][i]
            eg[...] = rho * eg + (1 - rho) * g * g
            delta = -np.sqrt(ex + eps) * g / np.sqrt(eg + eps)
            ex[...] = rho * ex + (1 - rho) * delta * delta
            w += lr * delta
        elif k in ("adam", "adamw"):
            b1, b2 = c["beta_1"], c["beta_2"]
            m, v = s["momentum"][i], s["velocity"][i]
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            vv = v
            if c["amsgrad"]:
                vh = s["velocity_hat"][i]
                vh[...] = np.maximum(vh, v)
                vv = vh
            w -= alpha * m / (np.sqrt(vv) + c["epsilon"])
        elif k == "adamax":
            b1, b2 = c["beta_1"], c["beta_2"]
            m, u = s["momentum"][i], s["norm"][i]
            m[...] = b1 * m + (1 - b1) * g
            u[...] = np.maximum(b2 * u, np.abs(g))
            w -= lr * m / ((1 - b1 ** t) * (u + c["epsilon"]))
        elif k == "nadam":
            b1, b2 = c["beta_1"], c["beta_2"]
            u_t = b1 * (1 - 0.5 * 0.96 ** t)
            u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
            prod_t = self.u_product
            prod_t1 = prod_t * u_t1
            m, v = s["momentum"][i], s["velocity"][i]
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            m_hat = u_t1 * m / (1 - prod_t1) + (1 - u_t) * g / (1 - prod_t)
            v_hat = v / (1 - b2 ** t)
            w -= lr * m_hat / (np.sqrt(v_hat) + c["epsilon"])
        elif k == "lion":
            b1, b2 = c["beta_1"], c["beta_2"]
            m = s["momentum"][i]
            w -= lr * np.sign(b1 * m + (1 - b1) * g)
            m[...] = b2 * m + (1 - b2) * g
        elif k == "ftrl":
            p = c["learning_rate_power"]
            l1, l2 = c["l1_regularization_strength"], c["l2_regularization_strength"]
            l2p = l2 + c["beta"] / (2 * lr)
            n, z = s["accumulator"][i], s["linear"][i]
            g_s = g + 2 * c["l2_shrinkage_regularization_strength"] * w
            n_new = n + g * g
            z += g_s - (n_new ** (-p) - n ** (-p)) / lr * w
            q = n_new ** (-p) / lr + 2 * l2p
            w[...] = (np.clip(z, -l1, l1) - z) / q
            n[...] = n_new
        elif k == "lamb":  # Keras 3's keras/src/optimizers/lamb.py, per tensor
            b1, b2 = c["beta_1"], c["beta_2"]
            m, v = s["momentum"][i], s["velocity"][i]
            m += (g - m) * (1 - b1)
            v += (g * g - v) * (1 - b2)
            update = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + c["epsilon"])
            w_norm = math.sqrt(float(np.sum(w * w)))
            u_norm = math.sqrt(float(np.sum(update * update)))
            ratio = (w_norm / u_norm if u_norm > 0 else 1.0) if w_norm > 0 else 1.0
            w -= ratio * lr * update
        else:
            raise ValueError(k)
