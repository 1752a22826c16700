"""The PyTorch side of vit's `vit_small` family: the ViT of kentaroy47/vision-transformers-cifar10's
models/vit_small.py (lucidrains/vit-pytorch's vit_for_small_dataset.py; Lee, Lee & Song 2021,
"Vision Transformer for Small-Size Datasets"), rewritten here with the same module tree and
therefore the same state_dict names:

    to_patch_embedding.to_patch_tokens.{1: LayerNorm, 2: Linear}   (SPT; 0 is the Rearrange)
    pos_embedding, cls_token
    transformer.layers.i.0.{norm, fn.temperature, fn.to_qkv, fn.to_out.0}   (PreNorm(LSA))
    transformer.layers.i.1.{norm, fn.net.0, fn.net.3}                       (PreNorm(FeedForward))
    mlp_head.{0: LayerNorm, 1: Linear}

bench/kentaroy47_reference.py's build() makes it for model.name 'vit_small'.
"""
import torch
import torch.nn.functional as F
from torch import nn
from vit_pytorch_layers import PatchRearrange, PreNorm, FeedForward


# F.pad's (left, right, top, bottom): one pixel right, left, down, up; a −1 crops that side.
SHIFTS = ((1, -1, 0, 0), (-1, 1, 0, 0), (0, 0, 1, -1), (0, 0, -1, 1))


def shifted_views(x):
    """The image and its four one-pixel shifts (zero-filled), stacked on the channels: [b, 5c, h, w]."""
    return torch.cat([x] + [F.pad(x, shift) for shift in SHIFTS], dim=1)


class SPT(nn.Module):
    """Shifted Patch Tokenization: patches of the 5-view stack → LayerNorm → Linear."""

    def __init__(self, *, dim, patch_size, channels=3):
        super().__init__()
        patch_dim = patch_size * patch_size * 5 * channels
        self.to_patch_tokens = nn.Sequential(PatchRearrange(patch_size), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim))

    def forward(self, x):
        return self.to_patch_tokens(shifted_views(x))


class LSA(nn.Module):
    """Locality Self-Attention: logits q·kᵀ · exp(temperature) (temperature learned, from
    log(dim_head^-½)), each token's logit to itself filled with −max float, softmax, · v."""

    def __init__(self, dim, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner = dim_head * heads
        self.heads = heads
        self.temperature = nn.Parameter(torch.log(torch.tensor(dim_head ** -0.5)))
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        dots = (q @ k.transpose(-1, -2)) * self.temperature.exp()
        self_attention = torch.eye(n, dtype=torch.bool, device=x.device)
        dots = dots.masked_fill(self_attention, -torch.finfo(dots.dtype).max)
        attn = torch.softmax(dots, dim=-1)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([
            PreNorm(dim, LSA(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
            PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout))]) for _ in range(depth)])

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class ViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, pool='cls', channels=3, dim_head=64, dropout=0., emb_dropout=0.):
        super().__init__()
        assert image_size % patch_size == 0, 'image_size must be divisible by patch_size'
        patches = (image_size // patch_size) ** 2
        self.to_patch_embedding = SPT(dim=dim, patch_size=patch_size, channels=channels)
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


def build(args):
    """The module for vit's model config keys `args` (model.name 'vit_small')."""
    return ViT(image_size=args['image_size'], patch_size=args['patch_size'], num_classes=args['num_classes'], dim=args['dim'], depth=args['depth'],
               heads=args['heads'], mlp_dim=args['mlp_dim'], pool=args['pool'], dim_head=args['dim_head'], dropout=args['dropout'], emb_dropout=args['emb_dropout'])


if __name__ == '__main__':
    # train_cifar10.py's --net vit_small and --net vit_tiny (size 32, patch 4, dimhead 512): parameter counts.
    common = dict(image_size=32, patch_size=4, num_classes=10, dim=512, dropout=0.1, emb_dropout=0.1)
    for net, kw in [('vit_small', dict(depth=6, heads=8, mlp_dim=512)), ('vit_tiny', dict(depth=4, heads=6, mlp_dim=256))]:
        print(net, sum(p.numel() for p in ViT(**common, **kw).parameters()))
