"""Native PyTorch comparison for bench/run.ts: the same PP-TSN ResNet-vd network as src/core/model (arch.ts),
with BatchNorm folded into each conv's bias as our Recognizer and the ONNX export do, timed on the CPU.

Protocol (so run.ts can interleave it with the browser runtimes rep by rep): prints one JSON line with the setup,
then for every line "N" read from stdin runs one forward pass of N images at SIZE px and prints its seconds.
Run with Debian's /usr/bin/python3 (python3-torch): /usr/bin/python3 bench/torch_resnet.py --threads 2
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_layers import FILTERS, STAGES, Block, cuda_float32, stem


class PPTSN(nn.Module):
    def __init__(self, depth=50, classes=400):
        super().__init__()
        bottleneck = depth >= 50
        self.stem = stem()
        blocks = []
        cin = 64
        for stage, count in enumerate(STAGES[depth]):
            for i in range(count):
                stride = 2 if i == 0 and stage > 0 else 1
                blocks.append(Block(cin, FILTERS[stage], stride, bottleneck, i == 0, stage))
                cin = FILTERS[stage] * (4 if bottleneck else 1)
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.max_pool2d(self.stem(x), 3, 2, 1)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--depth', type=int, default=50)
    ap.add_argument('--classes', type=int, default=400)
    ap.add_argument('--size', type=int, default=224)
    # mkldnn: weights and activations in oneDNN's blocked layout, PyTorch's fastest CPU path. 'default' is plain
    # NCHW eager mode, which on Debian's build (generic BLAS) runs 1×1 convolutions ~10× slower.
    ap.add_argument('--mode', choices=['mkldnn', 'default'], default='mkldnn')
    # cuda: the GPU anchor of `npm run bench -- --gpu` (plain NCHW, cuDNN autotuned, float32 with TF32 off).
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    a = ap.parse_args()
    if a.device == 'cuda':
        return cuda_main(a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    net = PPTSN(a.depth, a.classes).eval()
    if a.mode == 'mkldnn':
        from torch.utils import mkldnn
        net = mkldnn.to_mkldnn(net)
    inputs = {}
    print(json.dumps({'runtime': 'pytorch-native', 'description': f'PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads, {a.mode}',
                      'threads': torch.get_num_threads(), 'setupMs': (time.perf_counter() - t0) * 1000}), flush=True)
    with torch.inference_mode():
        for line in sys.stdin:
            n = int(line)
            if n not in inputs:
                x = torch.rand(n, 3, a.size, a.size) * 4 - 2
                inputs[n] = x.to_mkldnn() if a.mode == 'mkldnn' else x
            t = time.perf_counter()
            net(inputs[n])
            print(json.dumps({'seconds': time.perf_counter() - t}), flush=True)


def cuda_main(a):
    err = cuda_float32()
    if err:
        print(json.dumps({'error': err}), flush=True)
        return
    torch.manual_seed(0)
    t0 = time.perf_counter()
    net = PPTSN(a.depth, a.classes).eval().cuda()
    inputs = {}
    print(json.dumps({'runtime': 'pytorch-cuda', 'description': f'PyTorch {torch.__version__} CUDA on {torch.cuda.get_device_name()}, float32 (TF32 off), cuDNN benchmark',
                      'threads': 0, 'setupMs': (time.perf_counter() - t0) * 1000}), flush=True)
    with torch.inference_mode():
        for line in sys.stdin:
            n = int(line)
            if n not in inputs:
                inputs[n] = torch.rand(n, 3, a.size, a.size, device='cuda') * 4 - 2
                net(inputs[n])  # cuDNN picks its algorithms for this shape outside the timing
            torch.cuda.synchronize()
            t = time.perf_counter()
            net(inputs[n])
            torch.cuda.synchronize()
            print(json.dumps({'seconds': time.perf_counter() - t}), flush=True)


if __name__ == '__main__':
    main()
