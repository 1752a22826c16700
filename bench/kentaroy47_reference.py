#!/usr/bin/python3
"""The PyTorch side of vit's families from kentaroy47/vision-transformers-cifar10: its ViT
(models/vit.py, lucidrains/vit-pytorch's), ConvMixer (models/convmixer.py, after Trockman &
Kolter's "Patches Are All You Need?") and ResNet (models/resnet.py, kuangliu/pytorch-cifar's),
rewritten here with the same module trees and therefore the same state_dict names, so a file their
train_cifar10.py saves is one these load with strict=True, and the reverse. (The CCT is
SHI-Labs', in bench/cct_reference.py.)

    /usr/bin/python3 bench/kentaroy47_reference.py fixture --out-dir DIR --images FILE --count N
    /usr/bin/python3 bench/kentaroy47_reference.py roundtrip --model JSON --weights FILE.safetensors \
        --out FILE.pth --images FILE --count N --mean R,G,B --std R,G,B

writes, for a tiny model of each family (BatchNorm statistics randomised, so evaluation mode is
tested): the state_dict as torch.save writes it in the forms users have (plain; train_cifar10.py's
{"net": …, "optimizer": …, "scaler": …, "acc": …, "epoch": …}; nn.DataParallel's "module."-prefixed
under "model"; float16, bfloat16 and float64 storages; tensors saved on "cuda:0"), the logits of the
N uint8 NHWC images in FILE (normalised with that repository's mean and std), three SGD steps'
losses and the BatchNorm buffers after them, and hostile files (a pickle calling posix.system, a
truncated zip, a storage shorter than its tensor).

`roundtrip` builds the module for vit's model config JSON, loads a `vit export` safetensors file
into it with strict=True, prints {"params": its parameter count, "logits": its evaluation-mode
logits of the images} as JSON, and torch.saves its state_dict to --out (test/families.test.ts).
Needs Debian's python3-torch.
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
from vit_pytorch_layers import PatchRearrange, PreNorm, FeedForward

# kentaroy47/vision-transformers-cifar10's train_cifar10.py normalisation for CIFAR-10.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


# ---------------------------------------------------------------------------------------------
# The ViT of models/vit.py (lucidrains/vit-pytorch): PreNorm blocks, fused qkv, cls or mean pooling.

class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner = dim_head * heads
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout)) if not (heads == 1 and dim_head == dim) else nn.Identity()

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([
            PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
            PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout))]) for _ in range(depth)])

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class ViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, pool='cls', channels=3, dim_head=64, dropout=0., emb_dropout=0.):
        super().__init__()
        patches = (image_size // patch_size) ** 2
        self.to_patch_embedding = nn.Sequential(PatchRearrange(patch_size), nn.Linear(channels * patch_size ** 2, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(emb_dropout)
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)
        self.pool = pool
        self.to_latent = nn.Identity()
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img):
        x = self.to_patch_embedding(img)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.dropout(x + self.pos_embedding[:, :x.shape[1]])
        x = self.transformer(x)
        return self.mlp_head(self.to_latent(x.mean(dim=1) if self.pool == 'mean' else x[:, 0]))


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
    if family == 'vit':
        return ViT(image_size=args['image_size'], patch_size=args['patch_size'], num_classes=args['num_classes'], dim=args['dim'], depth=args['depth'],
                   heads=args['heads'], mlp_dim=args['mlp_dim'], pool=args['pool'], dim_head=args['dim_head'], dropout=args['dropout'], emb_dropout=args['emb_dropout'])
    if family == 'cct':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from cct_reference import CCT
        return CCT(img_size=args['image_size'], embedding_dim=args['dim'], n_conv_layers=args['conv_layers'], kernel_size=args['conv_kernel'],
                   stride=args['conv_stride'], padding=args['conv_padding'], pooling_kernel_size=args['pool_kernel'], pooling_stride=args['pool_stride'],
                   pooling_padding=args['pool_padding'], dropout=args['dropout'], attention_dropout=args['attn_dropout'], stochastic_depth=args['drop_path'],
                   num_layers=args['depth'], num_heads=args['heads'], mlp_ratio=args['mlp_ratio'], num_classes=args['num_classes'],
                   positional_embedding=args['positional_embedding'])
    if family == 'convmixer':
        return ConvMixer(args['dim'], args['depth'], kernel_size=args['kernel_size'], patch_size=args['patch_size'], n_classes=args['num_classes'])
    if family == 'resnet':
        return ResNet(BasicBlock, args['num_blocks'], num_classes=args['num_classes'])
    if family == 'simplevit':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_simplevit import SimpleViT
        return SimpleViT(image_size=args['image_size'], patch_size=args['patch_size'], num_classes=args['num_classes'], dim=args['dim'], depth=args['depth'],
                         heads=args['heads'], mlp_dim=args['mlp_dim'], dim_head=args['dim_head'])
    if family == 'mlpmixer':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_mlpmixer import MLPMixer
        return MLPMixer(image_size=args['image_size'], channels=3, patch_size=args['patch_size'], dim=args['dim'], depth=args['depth'], num_classes=args['num_classes'],
                        expansion_factor=args['expansion_factor'], expansion_factor_token=args['expansion_factor_token'], dropout=args['dropout'])
    if family == 'vit_small':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_vit_small import build as build_vit_small
        return build_vit_small(args)
    if family == 'cait':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_cait import from_config
        return from_config(args)
    if family == 'swin':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_swin import from_vit_config
        return from_vit_config(args)
    if family == 'mobilevit':
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_mobilevit import build as build_mobilevit
        return build_mobilevit(args)
    raise ValueError(family)


# ---------------------------------------------------------------------------------------------
# Fixtures for test/pytorch-import.test.ts.

# The tiny models the tests import (vit's model config keys): small enough for the CPU tests.
CASES = {
    'convmixer': {'name': 'convmixer', 'dim': 16, 'depth': 2, 'kernel_size': 4, 'patch_size': 2, 'num_classes': 10},
    'resnet': {'name': 'resnet', 'num_blocks': [1, 1, 1, 1], 'num_classes': 10},
    'vit_small': {'name': 'vit_small', 'image_size': 32, 'patch_size': 8, 'dim': 16, 'depth': 2, 'heads': 2, 'dim_head': 8, 'mlp_dim': 32, 'pool': 'cls', 'dropout': 0, 'emb_dropout': 0, 'num_classes': 10},
    'mlpmixer': {'name': 'mlpmixer', 'image_size': 32, 'patch_size': 8, 'dim': 16, 'depth': 2, 'num_classes': 10, 'expansion_factor': 2, 'expansion_factor_token': 0.5, 'dropout': 0},
    'simplevit': {'name': 'simplevit', 'image_size': 32, 'dim': 16, 'depth': 2, 'heads': 2, 'dim_head': 8, 'mlp_dim': 32, 'patch_size': 8, 'num_classes': 10},
    'cait': {'name': 'cait', 'image_size': 32, 'patch_size': 8, 'dim': 16, 'depth': 2, 'cls_depth': 2, 'heads': 3, 'dim_head': 8, 'mlp_dim': 32, 'dropout': 0,
             'emb_dropout': 0, 'layer_dropout': 0, 'num_classes': 10},
    'swin': {'name': 'swin', 'image_size': 32, 'hidden_dim': 8, 'layers': [2, 2, 2, 2], 'heads': [1, 2, 2, 2], 'head_dim': 4, 'window_size': 4,
             'downscaling_factors': [2, 2, 2, 1], 'relative_pos_embedding': True, 'num_classes': 10},
    # At 64: the images resized (vit's data.resize); expansion 1: MV2 blocks without the expanding conv.
    'mobilevit': {'name': 'mobilevit', 'image_size': 64, 'dims': [8, 12, 16], 'channels': [4, 4, 8, 8, 8, 8, 12, 12, 16, 16, 24], 'num_classes': 10,
                  'expansion': 1, 'kernel_size': 3, 'patch_size': 2},
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


def normalise(images_nhwc_uint8, args=None):
    x = torch.tensor(images_nhwc_uint8, dtype=torch.float32).permute(0, 3, 1, 2) / 255
    return resized((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1), args or {})


def resized(x, args):
    """vit's data.resize: the normalised images bilinearly at the model's image_size where it is not their 32."""
    side = args.get('image_size', 32)
    return x if side == 32 else F.interpolate(x, size=(side, side), mode='bilinear', align_corners=False)


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
            logits = model(normalise(images, args))
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
        x = normalise(images[:8], args)
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


def load_safetensors(path):
    """A safetensors file's tensors (F32, I64), as vit export writes them."""
    raw = Path(path).read_bytes()
    length = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + length])
    header.pop('__metadata__', None)
    dtypes = {'F32': torch.float32, 'I64': torch.int64}
    tensors = {}
    for name, info in header.items():
        start, end = info['data_offsets']
        data = bytearray(raw[8 + length + start:8 + length + end])
        tensors[name] = torch.frombuffer(data, dtype=dtypes[info['dtype']]).reshape(info['shape']).clone() if data else torch.zeros(info['shape'], dtype=dtypes[info['dtype']])
    return tensors


def roundtrip(model_json, weights, out, images_path, count, mean, std):
    args = json.loads(model_json)
    model = build(args['name'], args)
    model.load_state_dict(load_safetensors(weights), strict=True)
    model.eval()
    images = torch.frombuffer(bytearray(Path(images_path).read_bytes()), dtype=torch.uint8).view(count, 32, 32, 3).numpy()
    x = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2) / 255
    x = resized((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1), args)
    with torch.no_grad():
        logits = model(x)
    torch.save(model.state_dict(), out)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)  # the CCT's sine table is a frozen Parameter
    print(json.dumps({'params': trained, 'logits': logits.tolist()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    f = sub.add_parser('fixture')
    f.add_argument('--out-dir', required=True)
    f.add_argument('--images', required=True, help='N uint8 NHWC 32x32x3 images, raw')
    f.add_argument('--count', type=int, required=True)
    r = sub.add_parser('roundtrip')
    r.add_argument('--model', required=True, help="vit's resolved model config, JSON")
    r.add_argument('--weights', required=True)
    r.add_argument('--out', required=True)
    r.add_argument('--images', required=True)
    r.add_argument('--count', type=int, required=True)
    r.add_argument('--mean', required=True)
    r.add_argument('--std', required=True)
    args = parser.parse_args()
    if args.command == 'fixture':
        fixture(args.out_dir, args.images, args.count)
    if args.command == 'roundtrip':
        floats = lambda text: [float(v) for v in text.split(',')]
        roundtrip(args.model, args.weights, args.out, args.images, args.count, floats(args.mean), floats(args.std))


if __name__ == '__main__':
    sys.exit(main())
