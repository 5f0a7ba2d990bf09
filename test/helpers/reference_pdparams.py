#!/usr/bin/env python3
"""The independent float64 NumPy forward of reference.py, with weights read from a .pdparams (plain pickle) instead
of seeds: checks that an exported file carries PaddleVideo's key names/shapes and gives the trainer's logits.

Reads JSON on stdin: {"pdparams": PATH, "depth": 18, "input_npy": PATH ([N*T, 3, H, W] float32, NCHW), "segments": T}
and prints {"logits": [[...]], "keys": n, "shapes": {key: shape}}.
"""
import json
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402


def main():
    req = json.load(sys.stdin)
    with open(req["pdparams"], "rb") as f:
        sd = pickle.load(f)
    sd.pop("StructuredToParameterName@@", None)
    g = lambda k: np.asarray(sd[k], dtype=np.float32).astype(np.float64)
    stem, blocks, feat = ref.plan(req["depth"])
    layers = list(stem)
    for branch, short in blocks:
        layers += branch + ([short] if short else [])
    params = {}
    for (name, *_rest) in layers:
        p = "backbone." + name
        params[name] = (g(p + "._conv.weight"), g(p + "._batch_norm.weight"), g(p + "._batch_norm.bias"), g(p + "._batch_norm._mean"), g(p + "._batch_norm._variance"))
    fc_w, fc_b = g("head.fc.weight"), g("head.fc.bias")
    x = np.load(req["input_npy"]).astype(np.float64)
    T = req["segments"]
    for layer in stem:
        x = ref.conv_bn(x, layer, params)
    x = ref.maxpool_3x3_s2_p1(x)
    for branch, short in blocks:
        y = x
        for layer in branch:
            y = ref.conv_bn(y, layer, params)
        s = ref.conv_bn(x, short, params) if short else x
        x = np.maximum(s + y, 0)
    pooled = x.mean(axis=(2, 3))
    logits = pooled.reshape(-1, T, feat).mean(axis=1) @ fc_w + fc_b
    json.dump({"logits": logits.tolist(), "keys": len(sd), "shapes": {k: list(np.shape(v)) for k, v in sd.items()}}, sys.stdout)


if __name__ == "__main__":
    main()
