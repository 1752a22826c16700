#!/usr/bin/python3
"""The PyTorch side of vit's convolutional families: the ConvMixer and the ResNet of
kentaroy47/vision-transformers-cifar10 (models/convmixer.py, after Trockman & Kolter's "Patches Are
All You Need?"; models/resnet.py, kuangliu/pytorch-cifar's), rewritten here with the same module
trees and therefore the same state_dict names, so a file their train_cifar10.py saves is one these
load with strict=True, and the reverse.

    /usr/bin/python3 bench/kentaroy47_reference.py fixture --out-dir DIR --images FILE --count N

writes, for a tiny model of each family (BatchNorm statistics randomised, so evaluation mode is
tested): the state_dict as torch.save writes it in the forms users have (plain; train_cifar10.py's
{"net": …, "optimizer": …, "scaler": …, "acc": …, "epoch": …}; nn.DataParallel's "module."-prefixed
under "model"; float16, bfloat16 and float64 storages; tensors saved on "cuda:0"), the logits of the
N uint8 NHWC images in FILE (normalised with that repository's mean and std), three SGD steps'
losses and the BatchNorm buffers after them, and hostile files (a pickle calling posix.system, a
truncated zip, a storage shorter than its tensor). Needs Debian's python3-torch.
"""
import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

# kentaroy47/vision-transformers-cifar10's train_cifar10.py normalisation for CIFAR-10.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


# ---------------------------------------------------------------------------------------------
# ConvMixer: one nn.Sequential, as models/convmixer.py builds it.

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def ConvMixer(dim, depth, kernel_size=9, patch_size=7, n_classes=1000):
    blocks = [nn.Sequential(
        Residual(nn.Sequential(nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"), nn.GELU(), nn.BatchNorm2d(dim))),
        nn.Conv2d(dim, dim, kernel_size=1), nn.GELU(), nn.BatchNorm2d(dim)) for _ in range(depth)]
    return nn.Sequential(
        nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size), nn.GELU(), nn.BatchNorm2d(dim),
        *blocks,
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, n_classes))


# ---------------------------------------------------------------------------------------------
# The CIFAR ResNet of models/resnet.py (kuangliu): BasicBlock with 1x1 projection shortcuts.

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(block, 64, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], stride=2)
        self.linear = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(out.view(out.size(0), -1))


def ResNet18(num_classes=10):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)


def ResNet34(num_classes=10):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)


def build(family, args):
    """The module for vit's model config keys `args` of `family`."""
    if family == 'convmixer':
        return ConvMixer(args['dim'], args['depth'], kernel_size=args['kernel_size'], patch_size=args['patch_size'], n_classes=args['num_classes'])
    if family == 'resnet':
        return ResNet(BasicBlock, args['num_blocks'], num_classes=args['num_classes'])
    raise ValueError(family)


# ---------------------------------------------------------------------------------------------
# Fixtures for test/pytorch-import.test.ts.

# The tiny models the tests import (vit's model config keys): small enough for the CPU tests.
CASES = {
    'convmixer': {'name': 'convmixer', 'dim': 16, 'depth': 2, 'kernel_size': 4, 'patch_size': 2, 'num_classes': 10},
    'resnet': {'name': 'resnet', 'num_blocks': [1, 1, 1, 1], 'num_classes': 10},
}


def randomise_batch_norms(model, generator):
    """Non-trivial BatchNorm parameters and statistics, so evaluation mode's use of them is tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.2, 0.2, generator=generator)
                m.running_mean.uniform_(-0.3, 0.3, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)
                m.num_batches_tracked.fill_(7)


def normalise(images_nhwc_uint8):
    x = torch.tensor(images_nhwc_uint8, dtype=torch.float32).permute(0, 3, 1, 2) / 255
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def save_on_cuda(obj, path):
    """torch.save as a GPU machine writes it: every storage's location 'cuda:0' (no GPU needed here)."""
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: 'cuda:0'
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = original


class Evil:
    """What a hostile checkpoint hides: unpickling it would run a shell command."""

    def __reduce__(self):
        import os
        return (os.system, ('echo this should never run',))


def rewrite_zip(src, dst, change):
    """A copy of a torch.save zip with `change(name, data)` applied to each entry's bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def fixture(out_dir, images_path, count):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = torch.frombuffer(bytearray(Path(images_path).read_bytes()), dtype=torch.uint8).view(count, 32, 32, 3).numpy()
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    expected = {}
    for name, args in CASES.items():
        model = build(args['name'], args)
        randomise_batch_norms(model, generator)
        model.eval()
        with torch.no_grad():
            logits = model(normalise(images))
        state = model.state_dict()
        torch.save(state, out / f'{name}.pth')
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        torch.save({'net': state, 'optimizer': optimizer.state_dict(), 'scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5,
                    'growth_interval': 2000, '_growth_tracker': 0}, 'acc': 12.5, 'epoch': 3}, out / f'{name}-net.t7')
        torch.save({'model': nn.DataParallel(model).state_dict(), 'epoch': 3}, out / f'{name}-dp.pth')
        for dtype, tag in [(torch.float16, 'half'), (torch.bfloat16, 'bf16'), (torch.float64, 'double')]:
            torch.save({k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}, out / f'{name}-{tag}.pth')
        save_on_cuda(state, out / f'{name}-cuda.pth')
        expected[name] = {'model': args, 'logits': logits.tolist(), 'state_dict_keys': list(state.keys())}

        # Three SGD steps on the first 8 images in training mode (batch statistics, running ones updated).
        torch.manual_seed(1)
        trained = build(args['name'], args)
        torch.save(trained.state_dict(), out / f'{name}-init.pth')
        trained.train()
        sgd = torch.optim.SGD(trained.parameters(), lr=0.01, momentum=0.9)
        x = normalise(images[:8])
        y = torch.arange(8) % 10
        losses, buffers = [], []
        for _ in range(3):
            loss = F.cross_entropy(trained(x), y)
            losses.append(loss.item())
            sgd.zero_grad()
            loss.backward()
            sgd.step()
            buffers.append({k: v.tolist() for k, v in trained.state_dict().items() if 'running' in k or 'num_batches' in k})
        with torch.no_grad():
            losses.append(F.cross_entropy(trained(x), y).item())  # after the third step
        expected[name]['sgd'] = {'lr': 0.01, 'momentum': 0.9, 'batch': 8, 'losses': losses, 'buffers_after_each_step': buffers}

    torch.save({'state_dict': torch.load(out / 'convmixer.pth'), 'evil': Evil()}, out / 'evil.pth')
    whole = (out / 'convmixer.pth').read_bytes()
    (out / 'truncated.pth').write_bytes(whole[: len(whole) // 2])
    rewrite_zip(out / 'convmixer.pth', out / 'short-storage.pth', lambda name, data: data[: len(data) // 2] if name.endswith('/data/0') else data)
    (out / 'expected.json').write_text(json.dumps(expected))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    f = sub.add_parser('fixture')
    f.add_argument('--out-dir', required=True)
    f.add_argument('--images', required=True, help='N uint8 NHWC 32x32x3 images, raw')
    f.add_argument('--count', type=int, required=True)
    args = parser.parse_args()
    if args.command == 'fixture':
        fixture(args.out_dir, args.images, args.count)


if __name__ == '__main__':
    sys.exit(main())
