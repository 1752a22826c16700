"""The pieces lucidrains/vit-pytorch's models share, as kentaroy47/vision-transformers-cifar10 copies
them into its models/*.py (so their state_dict names are the same everywhere): the patch
rearrange, PreNorm (`.norm` then `.fn`) and the FeedForward (`net`: Linear, GELU, Dropout, Linear,
Dropout). Imported by bench/kentaroy47_reference.py and the bench/reference_*.py families.
"""
from torch import nn


class PatchRearrange(nn.Module):
    """einops' Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)'), which has no parameters."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        b, c, h, w = x.shape
        p = self.p
        return x.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * c)


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, dropout=0.):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, dim), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)
