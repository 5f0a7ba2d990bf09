"""The PP-TSN ResNet-vd layers of src/core/model (arch.ts, resnetVd.ts) in PyTorch, shared by the bench's native
comparisons: torch_resnet.py (inference, BatchNorm folded into each conv's bias as our Recognizer and the ONNX
export do) and torch_train.py (training, real BatchNorm)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

STAGES = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}
FILTERS = [64, 128, 256, 512]


class ConvBN(nn.Module):
    """Conv + BatchNorm (`bn`; else BN folded: the conv's bias) + optional ReLU, optionally after the vd
    AvgPool(2, 2, ceil_mode, exclusive)."""

    def __init__(self, cin, cout, k, stride=1, act=True, pool=False, bn=False):
        super().__init__()
        self.pool, self.act = pool, act
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=not bn)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1) if bn else None

    def forward(self, x):
        if self.pool:
            x = F.avg_pool2d(x, 2, 2, 0, ceil_mode=True, count_include_pad=False)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.act else x


class Block(nn.Module):
    """A basic (depth < 50) or bottleneck block; the first of a stage has the vd shortcut (AvgPool then 1×1)."""

    def __init__(self, cin, filters, stride, bottleneck, first, stage, bn=False):
        super().__init__()
        if bottleneck:
            self.branch = nn.Sequential(ConvBN(cin, filters, 1, bn=bn), ConvBN(filters, filters, 3, stride, bn=bn), ConvBN(filters, filters * 4, 1, act=False, bn=bn))
            cout = filters * 4
        else:
            self.branch = nn.Sequential(ConvBN(cin, filters, 3, stride, bn=bn), ConvBN(filters, filters, 3, act=False, bn=bn))
            cout = filters
        self.short = ConvBN(cin, cout, 1, act=False, pool=stage > 0, bn=bn) if first else None

    def forward(self, x):
        y = self.branch(x)
        return F.relu((self.short(x) if self.short is not None else x) + y)


def stem(bn=False):
    """The vd stem: three 3×3 ConvBNs (32, 32, 64), the first with stride 2."""
    return nn.Sequential(ConvBN(3, 32, 3, 2, bn=bn), ConvBN(32, 32, 3, bn=bn), ConvBN(32, 64, 3, bn=bn))


def cuda_float32():
    """Readies CUDA for float32 timing (cuDNN autotuning on, TF32 off, so both sides do float32 arithmetic);
    the reason as a string when there is no CUDA device, else None."""
    if not torch.cuda.is_available():
        return f'PyTorch {torch.__version__} has no CUDA device (torch.cuda.is_available() is False)'
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return None
