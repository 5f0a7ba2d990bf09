#!/usr/bin/env python3
"""Rewrites a plain PaddleVideo state dict (.pdparams written by pptsn-web's own writer, so trusted) the ways
training scripts save weights (SPEC §7), for the checkpoint tests:

  make_checkpoint.py IN.pdparams OUT_DIR
writes OUT_DIR/ckpt_model_p4.pdparams  paddle.save({'model': state_dict, 'epoch': 3}), each Tensor pickled as
                                       Paddle >= 2.1 does: a builtins.tuple reduce of (name, ndarray), protocol 4
       OUT_DIR/ckpt_state_dict_p2.pdparams  {'state_dict': ..., 'epoch': 7} with the same tuples, protocol 2
       OUT_DIR/model.pdopt             a Momentum optimizer state (velocities + LR_Scheduler), as PaddleVideo saves
Needs numpy only.
"""
import os
import pickle
import sys

import numpy as np


class PaddleTensor:
    """Pickles like paddle.Tensor under paddle.save (Paddle >= 2.1): tuple((name, ndarray))."""

    def __init__(self, name, array):
        self.name, self.array = name, array

    def __reduce__(self):
        return (tuple, ((self.name, self.array),))


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        plain = pickle.load(f)  # our own writer's output: plain dict of arrays + the name table
    names = plain.get("StructuredToParameterName@@", {})
    sd = {k: PaddleTensor(names.get(k, k), np.asarray(v)) for k, v in plain.items() if k != "StructuredToParameterName@@"}
    with open(os.path.join(out, "ckpt_model_p4.pdparams"), "wb") as f:
        pickle.dump({"model": sd, "epoch": 3}, f, protocol=4)
    with open(os.path.join(out, "ckpt_state_dict_p2.pdparams"), "wb") as f:
        pickle.dump({"state_dict": sd, "epoch": 7}, f, protocol=2)
    opt = {names.get(k, k) + "_velocity_0": np.zeros_like(np.asarray(v)) for k, v in plain.items() if k != "StructuredToParameterName@@"}
    opt["LR_Scheduler"] = {"last_epoch": 30, "last_lr": 0.001}
    with open(os.path.join(out, "model.pdopt"), "wb") as f:
        pickle.dump(opt, f, protocol=4)


if __name__ == "__main__":
    main()
