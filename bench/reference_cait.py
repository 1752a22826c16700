"""CaiT as kentaroy47/vision-transformers-cifar10 has it (models/cait.py, lucidrains' vit-pytorch
cait), written from Touvron et al., "Going deeper with Image Transformers" (2021), Shazeer et al.,
"Talking-Heads Attention" (2020) and that module tree, so its state_dict names are the same and a
file saved by its train_cifar10.py --net cait (or cait_small) loads here with strict=True:

    to_patch_embedding.1                      Linear(p·p·3 → dim) after the patch rearrange
    pos_embedding [1, patches, dim], cls_token [1, 1, dim]
    patch_transformer.layers.i.0              LayerScale(PreNorm(Attention)): .scale, .fn.norm, .fn.fn
    patch_transformer.layers.i.1              LayerScale(PreNorm(FeedForward)): .fn.fn.net (Linear, GELU, Dropout, Linear, Dropout)
    cls_transformer.layers.i.{0,1}            the same, the cls token querying [cls; patches]
    mlp_head                                  LayerNorm, Linear

Attention: to_q and to_kv (no bias), mix_heads_pre_attn and mix_heads_post_attn [heads in, heads
out] (talking heads, before and after the softmax), to_out (Linear, Dropout). PreNorm normalises
the queries' tokens only: a class block's patches enter its keys as they are. Layer dropout skips
whole blocks in training (models/cait.py draws it in evaluation too; vit and this do not).
"""
import random

import torch
from torch import nn
from vit_pytorch_layers import PatchRearrange, FeedForward


class LayerScale(nn.Module):
    """fn(x) · a learned per-channel factor, initialised small for the block at `depth` (1-based)."""

    def __init__(self, dim, fn, depth):
        super().__init__()
        eps = 0.1 if depth <= 18 else 1e-5 if depth <= 24 else 1e-6
        self.scale = nn.Parameter(torch.full((1, 1, dim), eps))
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(x, **kwargs) * self.scale


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.mix_heads_pre_attn = nn.Parameter(torch.randn(heads, heads))
        self.mix_heads_post_attn = nn.Parameter(torch.randn(heads, heads))
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x, context=None):
        b, n, _ = x.shape
        keys_in = x if context is None else torch.cat((x, context), dim=1)
        split = lambda t: t.view(b, t.shape[1], self.heads, -1).transpose(1, 2)  # b m (h d) -> b h m d
        q = split(self.to_q(x))
        k, v = (split(t) for t in self.to_kv(keys_in).chunk(2, dim=-1))
        dots = q @ k.transpose(-1, -2) * self.scale
        # Mixing the heads: out[b, g] = Σ_h in[b, h] · W[h, g].
        mix = lambda a, w: torch.einsum('bhij,hg->bgij', a, w)
        attn = mix(torch.softmax(mix(dots, self.mix_heads_pre_attn), dim=-1), self.mix_heads_post_attn)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0., layer_dropout=0.):
        super().__init__()
        self.layer_dropout = layer_dropout
        self.layers = nn.ModuleList([nn.ModuleList([
            LayerScale(dim, PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)), depth=i + 1),
            LayerScale(dim, PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)), depth=i + 1)]) for i in range(depth)])

    def kept(self):
        """Layer dropout: each block skipped with probability layer_dropout, at least one kept."""
        if not self.training or self.layer_dropout == 0:
            return list(self.layers)
        drop = (torch.rand(len(self.layers)) < self.layer_dropout).tolist()
        if all(drop):
            drop[random.randrange(len(drop))] = False
        return [layer for layer, d in zip(self.layers, drop) if not d]

    def forward(self, x, context=None):
        for attn, ff in self.kept():
            x = attn(x, context=context) + x
            x = ff(x) + x
        return x


class CaiT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, cls_depth, heads, mlp_dim, dim_head=64, dropout=0., emb_dropout=0., layer_dropout=0.):
        super().__init__()
        assert image_size % patch_size == 0, 'image_size must be divisible by patch_size'
        patches = (image_size // patch_size) ** 2
        self.to_patch_embedding = nn.Sequential(PatchRearrange(patch_size), nn.Linear(3 * patch_size ** 2, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, patches, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(emb_dropout)
        self.patch_transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout, layer_dropout)
        self.cls_transformer = Transformer(dim, cls_depth, heads, dim_head, mlp_dim, dropout, layer_dropout)
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img):
        x = self.dropout(self.to_patch_embedding(img) + self.pos_embedding)
        x = self.patch_transformer(x)
        cls = self.cls_transformer(self.cls_token.expand(x.shape[0], -1, -1), context=x)
        return self.mlp_head(cls[:, 0])


def from_config(args):
    """The module for vit's model config keys `args` (model.name 'cait')."""
    return CaiT(image_size=args['image_size'], patch_size=args['patch_size'], num_classes=args['num_classes'], dim=args['dim'], depth=args['depth'],
                cls_depth=args['cls_depth'], heads=args['heads'], mlp_dim=args['mlp_dim'], dim_head=args['dim_head'], dropout=args['dropout'],
                emb_dropout=args['emb_dropout'], layer_dropout=args['layer_dropout'])


if __name__ == '__main__':
    # The presets' parameter counts: train_cifar10.py --net cait and --net cait_small (dimhead 512, patch 4).
    for name, heads, mlp_dim in [('cait', 8, 512), ('cait_small', 6, 256)]:
        model = CaiT(image_size=32, patch_size=4, num_classes=10, dim=512, depth=6, cls_depth=2, heads=heads, mlp_dim=mlp_dim, dropout=0.1, emb_dropout=0.1, layer_dropout=0.05)
        print(name, sum(p.numel() for p in model.parameters()))
