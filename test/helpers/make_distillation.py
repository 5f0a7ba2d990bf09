#!/usr/bin/env python3
"""Writes the two distillation checkpoints PaddleVideo saves (SPEC §5), from two plain Recognizer2D state dicts
(.pdparams written by pptsn-web's own writer, so trusted), for the distillation checkpoint tests:

  make_distillation.py STUDENT.pdparams TEACHER.pdparams OUT_DIR
writes OUT_DIR/distill_best.pdparams          RecognizerDistillation.state_dict(): Teacher then Student, each an
                                              nn.Sequential(backbone, head), so keys Teacher.0.<backbone key>,
                                              Teacher.1.fc.weight, Student.0..., Student.1.fc.bias; each Tensor
                                              pickled as Paddle >= 2.1 does (builtins.tuple of (name, ndarray)),
                                              the StructuredToParameterName@@ table, protocol 4
       OUT_DIR/distill_best_student.pdparams  save_load._extract_student_weights of it: the Student. prefix
                                              removed (0.…, 1.…), plain ndarrays and the name table, protocol 2
Needs numpy only.
"""
import os
import pickle
import sys

import numpy as np

TABLE = "StructuredToParameterName@@"


class PaddleTensor:
    """Pickles like paddle.Tensor under paddle.save (Paddle >= 2.1): tuple((name, ndarray))."""

    def __init__(self, name, array):
        self.name, self.array = name, array

    def __reduce__(self):
        return (tuple, ((self.name, self.array),))


def sequential(path):
    """A Recognizer2D state dict as nn.Sequential(backbone, head) keys: backbone. -> 0., head. -> 1."""
    with open(path, "rb") as f:
        plain = pickle.load(f)
    out = {}
    for k, v in plain.items():
        if k == TABLE:
            continue
        assert k.startswith("backbone.") or k.startswith("head."), k
        out[("0." + k[len("backbone."):]) if k.startswith("backbone.") else ("1." + k[len("head."):])] = np.asarray(v)
    return out


def main():
    student, teacher, out = sequential(sys.argv[1]), sequential(sys.argv[2]), sys.argv[3]
    whole = {}
    names = {}
    for model, sd in (("Teacher", teacher), ("Student", student)):
        for i, (k, v) in enumerate(sd.items()):
            key = model + "." + k
            names[key] = "%s_param_%d" % (model.lower(), i)
            whole[key] = PaddleTensor(names[key], v)
    whole[TABLE] = names
    with open(os.path.join(out, "distill_best.pdparams"), "wb") as f:
        pickle.dump(whole, f, protocol=4)
    # save_load._extract_student_weights: every key containing "Student.", the prefix cut off.
    prefix = "Student."
    s_params = {k[len(prefix):]: whole[k].array for k in whole if prefix in k}
    s_params[TABLE] = {k[len(prefix):]: v for k, v in names.items() if prefix in k}
    with open(os.path.join(out, "distill_best_student.pdparams"), "wb") as f:
        pickle.dump(s_params, f, protocol=2)


if __name__ == "__main__":
    main()
