#!/usr/bin/python3
"""The PyTorch side of vit's `swin` family: the Swin Transformer of kentaroy47/vision-transformers-cifar10
(models/swin.py, after berniwal/swin-transformer-pytorch), written here from the paper (Liu et al. 2021)
with that code's module tree, so its state_dict names, its arithmetic and its constants (the two masks of
every shifted block, Parameters with requires_grad=False) are the same: a file its train_cifar10.py saves
loads here with strict=True, and the reverse. bench/kentaroy47_reference.py's build() calls SwinTransformer.

Module tree:
    stage{1..4}: StageModule
        patch_partition: PatchMerging (linear; nn.Unfold orders each merged block channel first)
        layers: ModuleList of ModuleList([SwinBlock (regular), SwinBlock (shifted)])
            attention_block / mlp_block: Residual(fn=PreNorm(norm, fn=WindowAttention / FeedForward))
                WindowAttention: [upper_lower_mask, left_right_mask,] to_qkv, pos_embedding, to_out
                FeedForward: net = Sequential(Linear, GELU, Linear)
    mlp_head: Sequential(LayerNorm, Linear)
"""
import torch
from torch import nn
from vit_pytorch_layers import PreNorm


class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, dim))

    def forward(self, x):
        return self.net(x)


def edge_mask(window, along_rows):
    """[w², w²]: -inf between a window's last ⌊w/2⌋ rows (columns) and the rest, 0 elsewhere."""
    d = window // 2
    coord = torch.arange(window * window)
    coord = coord // window if along_rows else coord % window
    wrapped = coord >= window - d
    mask = torch.zeros(window * window, window * window)
    mask[wrapped[:, None] != wrapped[None, :]] = float('-inf')
    return mask


def relative_offsets(window):
    """[w², w², 2]: (key − query) in (row, column) within a window, shifted to start at 0."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing='ij')
    pos = torch.stack([rows.flatten(), cols.flatten()], dim=-1)
    return pos[None, :, :] - pos[:, None, :] + window - 1


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, head_dim, shifted, window_size, relative_pos_embedding):
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim, self.window = heads, head_dim, window_size
        self.shifted, self.relative = shifted, relative_pos_embedding
        self.displacement = window_size // 2
        if shifted:
            self.upper_lower_mask = nn.Parameter(edge_mask(window_size, True), requires_grad=False)
            self.left_right_mask = nn.Parameter(edge_mask(window_size, False), requires_grad=False)
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        if relative_pos_embedding:
            self.relative_indices = relative_offsets(window_size)  # a plain attribute: not in the state_dict
            self.pos_embedding = nn.Parameter(torch.randn(2 * window_size - 1, 2 * window_size - 1))
        else:
            self.pos_embedding = nn.Parameter(torch.randn(window_size ** 2, window_size ** 2))
        self.to_out = nn.Linear(inner, dim)

    def partition(self, t):
        """[b, H, W, (h d)] → [b, h, windows, w², d], windows row-major, tokens row-major within."""
        b, H, W, _ = t.shape
        w, h = self.window, self.heads
        t = t.view(b, H // w, w, W // w, w, h, self.head_dim).permute(0, 5, 1, 3, 2, 4, 6)
        return t.reshape(b, h, (H // w) * (W // w), w * w, self.head_dim)

    def forward(self, x):
        if self.shifted:
            x = torch.roll(x, shifts=(-self.displacement, -self.displacement), dims=(1, 2))
        b, H, W, _ = x.shape
        w, h = self.window, self.heads
        q, k, v = (self.partition(t) for t in self.to_qkv(x).chunk(3, dim=-1))
        logits = q @ k.transpose(-1, -2) * self.head_dim ** -0.5
        if self.relative:
            logits = logits + self.pos_embedding[self.relative_indices[..., 0], self.relative_indices[..., 1]]
        else:
            logits = logits + self.pos_embedding
        if self.shifted:
            per_side = W // w
            grid = logits.view(b, h, H // w, per_side, w * w, w * w)
            edge = torch.zeros(H // w, per_side, w * w, w * w)
            edge[-1] += self.upper_lower_mask   # bottom row of windows
            edge[:, -1] += self.left_right_mask  # right column of windows
            logits = (grid + edge).view_as(logits)
        out = logits.softmax(dim=-1) @ v  # [b, h, windows, w², d]
        out = out.view(b, h, H // w, W // w, w, w, self.head_dim).permute(0, 2, 4, 3, 5, 1, 6).reshape(b, H, W, h * self.head_dim)
        out = self.to_out(out)
        if self.shifted:
            out = torch.roll(out, shifts=(self.displacement, self.displacement), dims=(1, 2))
        return out


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, head_dim, mlp_dim, shifted, window_size, relative_pos_embedding):
        super().__init__()
        self.attention_block = Residual(PreNorm(dim, WindowAttention(dim, heads, head_dim, shifted, window_size, relative_pos_embedding)))
        self.mlp_block = Residual(PreNorm(dim, FeedForward(dim, mlp_dim)))

    def forward(self, x):
        return self.mlp_block(self.attention_block(x))


class PatchMerging(nn.Module):
    """NCHW → NHWC [b, h/f, w/f, out]: each f×f block's values in nn.Unfold's order (c, row, column), then a Linear."""

    def __init__(self, in_channels, out_channels, downscaling_factor):
        super().__init__()
        self.factor = downscaling_factor
        self.patch_merge = nn.Unfold(kernel_size=downscaling_factor, stride=downscaling_factor, padding=0)
        self.linear = nn.Linear(in_channels * downscaling_factor ** 2, out_channels)

    def forward(self, x):
        b, _, H, W = x.shape
        merged = self.patch_merge(x).view(b, -1, H // self.factor, W // self.factor).permute(0, 2, 3, 1)
        return self.linear(merged)


class StageModule(nn.Module):
    def __init__(self, in_channels, hidden_dimension, layers, downscaling_factor, num_heads, head_dim, window_size, relative_pos_embedding):
        super().__init__()
        assert layers % 2 == 0, 'a stage holds pairs of regular and shifted blocks'
        self.patch_partition = PatchMerging(in_channels, hidden_dimension, downscaling_factor)
        block = lambda shifted: SwinBlock(hidden_dimension, num_heads, head_dim, 4 * hidden_dimension, shifted, window_size, relative_pos_embedding)
        self.layers = nn.ModuleList([nn.ModuleList([block(False), block(True)]) for _ in range(layers // 2)])

    def forward(self, x):
        x = self.patch_partition(x)
        for regular, shifted in self.layers:
            x = shifted(regular(x))
        return x.permute(0, 3, 1, 2)


class SwinTransformer(nn.Module):
    def __init__(self, *, hidden_dim, layers, heads, channels=3, num_classes=1000, head_dim=32, window_size=7,
                 downscaling_factors=(4, 2, 2, 2), relative_pos_embedding=True):
        super().__init__()
        ins = [channels, hidden_dim, 2 * hidden_dim, 4 * hidden_dim]
        for s in range(4):
            setattr(self, f'stage{s + 1}', StageModule(ins[s], hidden_dim * 2 ** s, layers[s], downscaling_factors[s], heads[s], head_dim,
                                                       window_size, relative_pos_embedding))
        self.mlp_head = nn.Sequential(nn.LayerNorm(8 * hidden_dim), nn.Linear(8 * hidden_dim, num_classes))

    def forward(self, img):
        x = self.stage4(self.stage3(self.stage2(self.stage1(img))))
        return self.mlp_head(x.mean(dim=[2, 3]))


def swin_t(hidden_dim=96, layers=(2, 2, 6, 2), heads=(3, 6, 12, 24), **kwargs):
    return SwinTransformer(hidden_dim=hidden_dim, layers=layers, heads=heads, **kwargs)


def from_vit_config(args):
    """The module for vit's `model` keys of model.name 'swin' (they are the constructor's arguments)."""
    return SwinTransformer(hidden_dim=args['hidden_dim'], layers=args['layers'], heads=args['heads'], num_classes=args['num_classes'],
                           head_dim=args['head_dim'], window_size=args['window_size'], downscaling_factors=args['downscaling_factors'],
                           relative_pos_embedding=args['relative_pos_embedding'])


if __name__ == '__main__':
    # train_cifar10.py's `--net swin`: its trained parameter count (the masks are not trained).
    net = swin_t(window_size=4, num_classes=10, downscaling_factors=(2, 2, 2, 1))
    print(sum(p.numel() for p in net.parameters() if p.requires_grad))
