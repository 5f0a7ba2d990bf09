"""Native PyTorch training step for the bench's train section (bench/trainSection.ts): the PP-TSN ResNet-vd of
src/core/model (as bench/torch_resnet.py) with real BatchNorm (train mode in the trainable part, eval mode in the
frozen part, as src/core/model/trainable.ts), Dropout(0.4) before the FC, softmax cross-entropy and SGD with
Nesterov momentum 0.9 and weight decay 1e-4 on conv and FC weights (PP-TSN's recipe, src/core/train/optimizer.ts).

Each strategy starts where ours does (bench/trainStep.ts): 'full' at the images, 'last-stage' at the cached input
of res5, 'head' at the feature map, so both sides do the same work. Plain eager NCHW float32 on the CPU, or with
--device cuda (the anchor of `npm run bench -- --gpu`, as torch_resnet.py) on the GPU: float32 with TF32 off so both
sides do float32 arithmetic, cuDNN benchmark mode (the bench's warm-up step autotunes each shape), the step timed
between two torch.cuda.synchronize() calls.

Protocol (as torch_resnet.py, so run.ts can interleave it rep by rep): prints one JSON line with the setup, then
for every line "N" read from stdin runs one training step on N images and prints its seconds.
  /usr/bin/python3 bench/torch_train.py --strategy last-stage --threads 2
  /usr/bin/python3 bench/torch_train.py --strategy full --device cuda
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the bench skips the native rows with this message
    print(json.dumps({'error': f'PyTorch is not installed for /usr/bin/python3 ({e}): apt-get install -y python3-torch'}), flush=True)
    sys.exit(0)

from torch_layers import FILTERS, STAGES, Block, cuda_float32, stem  # noqa: E402 (after the import check above)


class PPTSN(nn.Module):
    def __init__(self, depth, classes):
        super().__init__()
        bottleneck = depth >= 50
        self.stem = stem(bn=True)
        stages, cin = [], 64
        for stage, count in enumerate(STAGES[depth]):
            blocks = []
            for i in range(count):
                blocks.append(Block(cin, FILTERS[stage], 2 if i == 0 and stage > 0 else 1, bottleneck, i == 0, stage, bn=True))
                cin = FILTERS[stage] * (4 if bottleneck else 1)
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.feature_dim = cin
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x, start, segments):
        """`start`: the stage boundary x is at (0 images, 4 input of res5, 5 feature map)."""
        if start == 0:
            x = F.max_pool2d(self.stem(x), 3, 2, 1)
        for s in range(max(start - 1, 0), 4):
            x = self.stages[s](x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        x = x.reshape(-1, segments, x.shape[1]).mean(1)
        return self.fc(self.dropout(x))


START = {'full': 0, 'last-stage': 4, 'head': 5}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--strategy', choices=list(START), default='full')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--depth', type=int, default=50)
    ap.add_argument('--classes', type=int, default=400)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    a = ap.parse_args()
    cuda = a.device == 'cuda'
    if cuda:
        err = cuda_float32()
        if err:
            print(json.dumps({'error': err}), flush=True)
            return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    net = PPTSN(a.depth, a.classes).to(a.device)
    start = START[a.strategy]
    trainable = [net.fc] + ([net.stages[3]] if start <= 4 else []) + ([net.stem, *net.stages[:3]] if start == 0 else [])
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    decay, no_decay = [], []
    for m in trainable:
        m.train()
        for name, p in m.named_parameters():
            p.requires_grad_(True)
            (decay if p.dim() > 1 else no_decay).append(p)
    net.dropout.train()
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 1e-4}, {'params': no_decay, 'weight_decay': 0}], lr=0.01, momentum=0.9, nesterov=True)
    inputs = {}
    where = f'CUDA on {torch.cuda.get_device_name()}, TF32 off, cuDNN benchmark' if cuda else f'CPU, {torch.get_num_threads()} threads'
    print(json.dumps({'runtime': 'pytorch-cuda' if cuda else 'pytorch-native', 'description': f'PyTorch {torch.__version__} {where}, eager NCHW float32, {a.strategy} from boundary {start}',
                      'threads': 0 if cuda else torch.get_num_threads(), 'setupMs': (time.perf_counter() - t0) * 1000}), flush=True)
    for line in sys.stdin:
        n = int(line)
        if n not in inputs:
            # as bench/trainStep.ts: res5's input (4) is size/16, the feature map (5) size/32
            h = -(-a.size // 2 ** max(start, 2)) if start else a.size
            c = 3 if start == 0 else (net.feature_dim if start == 5 else net.feature_dim // 2)
            x = torch.randn(n, c, h, h, device=a.device)
            inputs[n] = x if start == 0 else x.relu()
        segments = 2 if n % 2 == 0 else 1
        labels = torch.arange(n // segments, device=a.device) % a.classes
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(inputs[n], start, segments), labels)
        loss.backward()
        opt.step()
        loss.item()  # reads the loss back (as ours does), which also waits for the GPU
        if cuda:
            torch.cuda.synchronize()
        print(json.dumps({'seconds': time.perf_counter() - t}), flush=True)


if __name__ == '__main__':
    main()
