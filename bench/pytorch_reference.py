#!/usr/bin/python3
"""The PyTorch peer of `vit bench`: the same model (for a ViT, lucidrains/vit-pytorch as kentaroy47
trains it on CIFAR-10; for a CCT, SHI-Labs' module tree in bench/cct_reference.py; for a ConvMixer or
a ResNet, kentaroy47/vision-transformers-cifar10's models/*.py in bench/kentaroy47_reference.py),
batch size and optimizer, read from the same config file, timed the same way, printed with the same
JSON keys.

    /usr/bin/python3 bench/pytorch_reference.py --config configs/bench-small.json [--json]

Needs Debian's python3-torch and, for a fair BLAS, libopenblas0-pthread. Missing config keys get
the schema's defaults: the config is resolved by `vit bench --print-config`, so there is one list
of defaults (src/config/schema.ts). Not part of CI.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent


def resolved_config(path):
    cmd = [
        'node', '--import', 'tsx', str(REPO / 'src/cli.ts'), 'bench', '--config', path, '--print-config']
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(out[out.index('{'):])  # tfjs may print a banner first


class FeedForward(nn.Module):
    def __init__(self, dim, hidden, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(self.norm(x))


class Attention(nn.Module):
    def __init__(self, dim, heads, dim_head, dropout, attn_dropout):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, inner * 3, bias=False)
        self.attn_drop = nn.Dropout(attn_dropout)
        self.out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x):
        x = self.norm(x)
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attn = self.attn_drop((q @ k.transpose(-1, -2) * self.scale).softmax(dim=-1))
        return self.out((attn @ v).transpose(1, 2).reshape(b, n, -1))


class ViT(nn.Module):
    """Patches → Linear → [cls; patches] + positions → pre-norm blocks → LayerNorm → Linear on cls."""

    def __init__(self, m):
        super().__init__()
        p, dim = m['patch_size'], m['dim']
        self.patch, self.pool = p, m['pool']
        tokens = (m['image_size'] // p) ** 2 + 1
        self.patch_embed = nn.Linear(p * p * 3, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.emb_drop = nn.Dropout(m['emb_dropout'])
        self.blocks = nn.ModuleList([
            nn.ModuleList([Attention(dim, m['heads'], m['dim_head'], m['dropout'], m['attn_dropout']),
                           FeedForward(dim, m['mlp_dim'], m['dropout'])])
            for _ in range(m['depth'])])
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, m['num_classes']))

    def forward(self, images):  # NCHW
        b, c, h, w = images.shape
        p = self.patch
        patches = images.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p * p * c)
        x = torch.cat([self.cls_token.expand(b, -1, -1), self.patch_embed(patches)], dim=1)
        x = self.emb_drop(x + self.pos_embed)
        for attn, ff in self.blocks:
            x = x + attn(x)
            x = x + ff(x)
        return self.head(x[:, 0] if self.pool == 'cls' else x.mean(dim=1))


def forward_flops(m):
    """As forwardFlops in src/model/size.ts: 2 · multiply-accumulates of the matrix products."""
    dim, depth, heads, dim_head, mlp = m['dim'], m['depth'], m['heads'], m['dim_head'], m['mlp_dim']
    inner, patches = heads * dim_head, (m['image_size'] // m['patch_size']) ** 2
    tokens, patch_dim = patches + 1, m['patch_size'] ** 2 * 3
    attention = tokens * dim * 3 * inner + 2 * heads * tokens * tokens * dim_head + tokens * inner * dim
    return 2 * (patches * patch_dim * dim + depth * (attention + 2 * tokens * dim * mlp) + dim * m['num_classes'])


def cct_forward_flops(m):
    """As cctForwardFlops in src/model/cct-params.ts: convolutions, blocks, sequence pooling, head."""
    k, side, macs = m['conv_kernel'], m['image_size'], 0
    channels = [3] + [m['conv_channels']] * (m['conv_layers'] - 1) + [m['dim']]
    for cin, cout in zip(channels, channels[1:]):
        conv_side = (side + 2 * m['conv_padding'] - k) // m['conv_stride'] + 1
        macs += conv_side * conv_side * k * k * cin * cout
        side = (conv_side + 2 * m['pool_padding'] - m['pool_kernel']) // m['pool_stride'] + 1
    n, dim = side * side, m['dim']
    attention = n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim
    macs += m['depth'] * (attention + 2 * n * dim * m['mlp_dim']) + n * dim + dim * m['num_classes']
    return 2 * macs


def conv_linear_flops(model, image_size):
    """2 · multiply-accumulates of every Conv2d and Linear, counted by forward hooks on one image:
    a check of src/families/*/size.ts that shares none of its code."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            macs.append(output[0].numel() * k)
        else:
            macs.append(module.in_features * module.out_features)
    handles = [mod.register_forward_hook(hook) for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, image_size, image_size))
    for handle in handles:
        handle.remove()
    return 2 * sum(macs)


def build_model(m):
    """The model of config `model`, and its forward FLOPs per image."""
    name = m.get('name', 'vit')
    if name in ('convmixer', 'resnet'):
        sys.path.insert(0, str(REPO / 'bench'))
        from kentaroy47_reference import build
        model = build(name, m)
        return model, conv_linear_flops(model, m['image_size'])
    if name != 'cct':
        return ViT(m), forward_flops(m)
    sys.path.insert(0, str(REPO / 'bench'))
    from cct_reference import CCT
    model = CCT(img_size=m['image_size'], embedding_dim=m['dim'], n_conv_layers=m['conv_layers'], kernel_size=m['conv_kernel'],
                stride=m['conv_stride'], padding=m['conv_padding'], pooling_kernel_size=m['pool_kernel'],
                pooling_stride=m['pool_stride'], pooling_padding=m['pool_padding'], dropout=m['dropout'],
                attention_dropout=m['attn_dropout'], stochastic_depth=m['drop_path'], num_layers=m['depth'],
                num_heads=m['heads'], mlp_ratio=m['mlp_ratio'], num_classes=m['num_classes'],
                positional_embedding=m['positional_embedding'])
    return model, cct_forward_flops(m)


def optimizer_for(model, o, convolutional):
    # Weight decay as isDecayed in src/families/*/params.ts: Linear weights for the transformers,
    # conv and Linear weights (not BatchNorm's, not biases) for the convnets.
    def decays(n, p):
        return n.endswith('weight') and (p.dim() >= 2 if convolutional else p.dim() == 2)
    decayed = [p for n, p in model.named_parameters() if decays(n, p)]
    rest = [p for n, p in model.named_parameters() if not decays(n, p)]
    groups = [{'params': decayed, 'weight_decay': o['weight_decay']}, {'params': rest, 'weight_decay': 0.0}]
    if o['name'] == 'sgd':
        return torch.optim.SGD(groups, lr=o['lr'], momentum=o['sgd']['momentum'], nesterov=o['sgd']['nesterov'])
    if o['name'] not in ('adamw', 'adam'):
        sys.exit(f"pytorch_reference.py: optimizer.name '{o['name']}' has no PyTorch {torch.__version__} counterpart; expected adamw, adam or sgd")
    cls = torch.optim.AdamW if o['name'] == 'adamw' else torch.optim.Adam
    return cls(groups, lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'])


def timed(count, run, sync):
    start = time.perf_counter()
    for _ in range(count):
        run()
    sync()
    return (time.perf_counter() - start) * 1000 / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', required=True)
    parser.add_argument('--batch', type=int)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()

    cfg = resolved_config(args.config)
    m, batch = cfg['model'], args.batch or cfg['train']['batch_size']
    # libgomp here starts with one thread; use every core, as tfjs's OpenBLAS does.
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(cfg['seed'])
    device = torch.device(args.device)
    model, flops = build_model(m)
    model = model.to(device)
    optimizer = optimizer_for(model, cfg['optimizer'], m.get('name') in ('convmixer', 'resnet'))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg['train']['label_smoothing'])
    side = m.get('image_size', 32)
    x = torch.randn(batch, 3, side, side, device=device)
    y = torch.randint(0, m['num_classes'], (batch,), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()  # waits for the step, as `vit bench` awaits the loss

    @torch.no_grad()
    def infer(images=x):
        model.eval()
        model(images).cpu()

    for _ in range(args.warmup):
        train_step()
    train_ms = timed(args.steps, train_step, sync)
    for _ in range(args.warmup):
        infer()
    infer_ms = timed(args.steps, infer, sync)
    # One image alone (what a service waits for): the median of many short runs, as vit bench.
    def infer_one():
        infer(x[:1])

    for _ in range(args.warmup):
        infer_one()
    latencies = sorted(timed(1, infer_one, sync) for _ in range(max(args.steps, 5) * 5))
    latency_ms = latencies[len(latencies) // 2]

    result = {
        'backend': f'pytorch-{torch.__version__}-{device.type}',
        'gemm': 'torch CPU BLAS (' + torch.__config__.show().split('BLAS_INFO=')[-1].split(',')[0] + ')' if device.type == 'cpu' else 'cuBLAS',
        'threads': torch.get_num_threads(),
        'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY', 'default'),
        'batch': batch,
        'steps': args.steps,
        'params': sum(p.numel() for p in model.parameters()),
        'flops_per_image': flops,
        'train_ms_per_step': train_ms,
        'train_images_per_second': batch * 1000 / train_ms,
        'train_gflops': 3 * flops * batch / train_ms / 1e6,
        'infer_ms_per_batch': infer_ms,
        'infer_images_per_second': batch * 1000 / infer_ms,
        'infer_gflops': flops * batch / infer_ms / 1e6,
        'infer_latency_ms': latency_ms,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f'{key:24} {value:.1f}' if isinstance(value, float) else f'{key:24} {value}')


if __name__ == '__main__':
    sys.exit(main())
