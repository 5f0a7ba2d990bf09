#!/usr/bin/env python3
"""Independent float64 NumPy reference of PP-TSN (docs/contract.md §1–2), for checking the tfjs network.

Written from docs/contract.md and PaddleVideo's ResNetTweaksTSN / ppTSNHead, sharing no code with src/: its own layer
plan, its own NCHW convolutions, its own seeded weights (mulberry32, as in the shared fixtures README).

Reads one JSON request per run on stdin:
  {"depth": 18, "num_classes": 5, "weight_seed": 1234, "input_shape": [N, T, 3, H, W], "input_seed": 99}
and prints {"logits": [[...]], "pooled": [[...]] (N*T rows), "pooled_mean": m, "pooled_std": s} on stdout.
Weights and input are drawn as float32 (like the fixtures) and then computed in float64.
"""
import json
import sys

import numpy as np

M32 = np.uint64(0xFFFFFFFF)


class Mulberry:
    """The fixtures' mulberry32 stream: element i (1-based) of seed s, u = (r >>> 8) / 2^24."""

    def __init__(self, seed):
        self.seed = np.uint64(seed)
        self.i = 0

    def take(self, n):
        i = np.arange(self.i + 1, self.i + 1 + n, dtype=np.uint64)
        self.i += n
        state = (self.seed + i * np.uint64(0x6D2B79F5)) & M32
        t = ((state ^ (state >> np.uint64(15))) * (state | np.uint64(1))) & M32
        t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & M32)) & M32)
        r = (t ^ (t >> np.uint64(14))) & M32
        return (r >> np.uint64(8)).astype(np.float64) / 16777216.0


STAGES = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}
FILTERS = [64, 128, 256, 512]


def plan(depth):
    """ConvBN layers (name, cin, cout, k, stride, act, avgpool) in state-dict order, and the block structure."""
    stem = [("conv1_1", 3, 32, 3, 2, True, False), ("conv1_2", 32, 32, 3, 1, True, False), ("conv1_3", 32, 64, 3, 1, True, False)]
    bottleneck = depth >= 50
    blocks = []
    cin = 64
    for s, count in enumerate(STAGES[depth]):
        f = FILTERS[s]
        for b in range(count):
            stride = 2 if (b == 0 and s > 0) else 1
            name = "bb_%d_%d" % (s, b)
            if bottleneck:
                branch = [(name + ".conv0", cin, f, 1, 1, True, False), (name + ".conv1", f, f, 3, stride, True, False), (name + ".conv2", f, 4 * f, 1, 1, False, False)]
                cout = 4 * f
            else:
                branch = [(name + ".conv0", cin, f, 3, stride, True, False), (name + ".conv1", f, f, 3, 1, False, False)]
                cout = f
            short = (name + ".short", cin, cout, 1, 1, False, s > 0) if b == 0 else None
            blocks.append((branch, short))
            cin = cout
    return stem, blocks, cin


def seeded_params(depth, num_classes, seed):
    stem, blocks, feat = plan(depth)
    layers = list(stem)
    for branch, short in blocks:
        layers += branch + ([short] if short else [])
    u = Mulberry(seed)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    params = {}
    for (name, cin, cout, k, _s, _a, _p) in layers:
        w = f32((2 * u.take(cout * cin * k * k) - 1) * np.sqrt(6.0 / (cin * k * k))).reshape(cout, cin, k, k)
        gamma = f32(0.5 + 0.5 * u.take(cout))
        beta = f32(0.2 * u.take(cout) - 0.1)
        mean = f32(0.2 * u.take(cout) - 0.1)
        var = f32(0.5 + u.take(cout))
        params[name] = (w, gamma, beta, mean, var)
    fc_w = f32((2 * u.take(feat * num_classes) - 1) * 0.05).reshape(feat, num_classes)
    fc_b = f32(0.2 * u.take(num_classes) - 0.1)
    return params, fc_w, fc_b


def conv2d(x, w, stride):
    """NCHW conv, symmetric padding (k-1)/2, no bias."""
    k = w.shape[2]
    p = (k - 1) // 2
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, wd = x.shape
    ho = (h - k) // stride + 1
    wo = (wd - k) // stride + 1
    if k == 1:
        cols = x[:, :, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
        return np.einsum("nchw,oc->nohw", cols, w[:, :, 0, 0], optimize=True)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :ho, :wo]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # [n, ho, wo, o]
    return out.transpose(0, 3, 1, 2)


def avgpool_ceil_exclusive(x):
    """AvgPool2D(2, 2, padding 0, ceil_mode=True, exclusive=True)."""
    n, c, h, w = x.shape
    hp, wp = h + (h % 2), w + (w % 2)
    xp = np.zeros((n, c, hp, wp))
    xp[:, :, :h, :w] = x
    ones = np.zeros((hp, wp))
    ones[:h, :w] = 1
    s = xp[:, :, 0::2, 0::2] + xp[:, :, 1::2, 0::2] + xp[:, :, 0::2, 1::2] + xp[:, :, 1::2, 1::2]
    cnt = ones[0::2, 0::2] + ones[1::2, 0::2] + ones[0::2, 1::2] + ones[1::2, 1::2]
    return s / cnt


def maxpool_3x3_s2_p1(x):
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2, w + 2), -np.inf)
    xp[:, :, 1:-1, 1:-1] = x
    ho = (h + 2 - 3) // 2 + 1
    wo = (w + 2 - 3) // 2 + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, :, i : i + 2 * (ho - 1) + 1 : 2, j : j + 2 * (wo - 1) + 1 : 2])
    return out


def conv_bn(x, layer, params):
    name, _cin, _cout, _k, stride, act, pool = layer
    w, gamma, beta, mean, var = params[name]
    if pool:
        x = avgpool_ceil_exclusive(x)
    y = conv2d(x, w, stride)
    y = (y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) * gamma[None, :, None, None] + beta[None, :, None, None]
    return np.maximum(y, 0) if act else y


def forward(req):
    depth, classes = req["depth"], req["num_classes"]
    N, T, C3, H, W = req["input_shape"]
    params, fc_w, fc_b = seeded_params(depth, classes, req["weight_seed"])
    u = Mulberry(req["input_seed"])
    x = (4 * u.take(N * T * C3 * H * W) - 2).astype(np.float32).astype(np.float64).reshape(N * T, C3, H, W)
    stem, blocks, feat = plan(depth)
    for layer in stem:
        x = conv_bn(x, layer, params)
    x = maxpool_3x3_s2_p1(x)
    for branch, short in blocks:
        y = x
        for layer in branch:
            y = conv_bn(y, layer, params)
        s = conv_bn(x, short, params) if short else x
        x = np.maximum(s + y, 0)
    pooled = x.mean(axis=(2, 3))  # [N*T, F]
    logits = pooled.reshape(N, T, feat).mean(axis=1) @ fc_w + fc_b
    return {"logits": logits.tolist(), "pooled": pooled.tolist(), "pooled_mean": float(pooled.mean()), "pooled_std": float(pooled.std())}


if __name__ == "__main__":
    json.dump(forward(json.load(sys.stdin)), sys.stdout)
