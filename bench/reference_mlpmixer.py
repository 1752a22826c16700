"""MLP-Mixer as kentaroy47/vision-transformers-cifar10 has it (models/mlpmixer.py, lucidrains'
mlp-mixer-pytorch), written from Tolstikhin et al., "MLP-Mixer: An all-MLP Architecture for Vision"
(2021) and that module tree, so its state_dict names and shapes are the same and a file saved by
its train_cifar10.py --net mlpmixer loads here with strict=True. One nn.Sequential:

    0                   the patch rearrange 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)' (no parameters)
    1                   Linear(p·p·3 → dim)
    2 … 1+depth         per block Sequential(token mixing .0, channel mixing .1), each a pre-norm
                        residual: .norm LayerNorm(dim), .fn Sequential(layer, GELU, Dropout, layer, Dropout)
                        (token mixing's layers Conv1d(kernel 1) over the patch axis, weights [out, in, 1];
                        channel mixing's Linear)
    2+depth             LayerNorm(dim)
    3+depth             the mean over patches (no parameters)
    4+depth             Linear(dim → num_classes)

The hidden widths are int(patches · expansion_factor) for token mixing and
int(dim · expansion_factor_token) for channel mixing (that code's naming).
"""
from torch import nn


class Patches(nn.Module):
    """[b, c, h·p, w·p] → [b, h·w, p·p·c]: patches row-major, each flattened as (row, column, channel)."""

    def __init__(self, patch_size):
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x):
        b, c, height, width = x.shape
        p = self.patch_size
        grid = x.reshape(b, c, height // p, p, width // p, p).permute(0, 2, 4, 3, 5, 1)
        return grid.reshape(b, (height // p) * (width // p), p * p * c)


class MeanOverPatches(nn.Module):
    """[b, n, dim] → [b, dim]."""

    def forward(self, x):
        return x.mean(dim=1)


class PreNormResidual(nn.Module):
    """x + fn(LayerNorm(x)), the LayerNorm over the last axis (dim)."""

    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return x + self.fn(self.norm(x))


def mixing_mlp(width, factor, dropout, layer):
    """width → int(width · factor) → width, GELU between, dropout after each half."""
    hidden = int(width * factor)
    return nn.Sequential(layer(width, hidden), nn.GELU(), nn.Dropout(dropout), layer(hidden, width), nn.Dropout(dropout))


def token_layer(n_in, n_out):
    """A Linear across the patch axis of [b, n, dim]: Conv1d sees n channels at dim positions."""
    return nn.Conv1d(n_in, n_out, kernel_size=1)


def MLPMixer(*, image_size, channels, patch_size, dim, depth, num_classes, expansion_factor=4, expansion_factor_token=0.5, dropout=0.):
    assert image_size % patch_size == 0, 'image_size must be divisible by patch_size'
    patches = (image_size // patch_size) ** 2
    blocks = [nn.Sequential(
        PreNormResidual(dim, mixing_mlp(patches, expansion_factor, dropout, token_layer)),
        PreNormResidual(dim, mixing_mlp(dim, expansion_factor_token, dropout, nn.Linear))) for _ in range(depth)]
    return nn.Sequential(
        Patches(patch_size), nn.Linear(patch_size * patch_size * channels, dim),
        *blocks,
        nn.LayerNorm(dim), MeanOverPatches(), nn.Linear(dim, num_classes))
