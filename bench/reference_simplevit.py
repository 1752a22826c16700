"""SimpleViT as kentaroy47/vision-transformers-cifar10 has it (models/simplevit.py, lucidrains'
vit-pytorch simple_vit), written from Beyer et al., "Better plain ViT baselines for ImageNet-1k"
(2022) and that module tree, so its state_dict names are the same and a file saved by its
train_cifar10.py --net simplevit loads here with strict=True:

    to_patch_embedding.1                 Linear(p·p·3 → dim) after the patch rearrange
    transformer.layers.i.0               Attention: norm (LayerNorm), to_qkv (no bias), to_out (no bias)
    transformer.layers.i.1.net           FeedForward: LayerNorm, Linear, GELU, Linear
    linear_head                          LayerNorm, Linear

The 2-D sin-cos positions are computed in forward and are in no state_dict; there is no cls token
(the tokens are averaged), no dropout, and no norm between the blocks and the pooling but the head's.
"""
import torch
from torch import nn


def sincos_positions(h, w, dim, temperature=10000, dtype=torch.float32):
    """[h·w, dim]: for the token at row y, column x, [sin(x·ω), cos(x·ω), sin(y·ω), cos(y·ω)], ω_k = T^(−k/(dim/4 − 1))."""
    assert dim % 4 == 0, 'the sin-cos positions need dim divisible by 4'
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    q = dim // 4
    omega = 1.0 / (temperature ** (torch.arange(q) / (q - 1)))
    xs = cols.flatten()[:, None] * omega[None, :]
    ys = rows.flatten()[:, None] * omega[None, :]
    return torch.cat((xs.sin(), xs.cos(), ys.sin(), ys.cos()), dim=1).to(dtype)


class PatchGrid(nn.Module):
    """einops' Rearrange('b c (h p1) (w p2) -> b h w (p1 p2 c)'), which has no parameters."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        b, c, h, w = x.shape
        p = self.p
        return x.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, h // p, w // p, p * p * c)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, dim))

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(self.norm(x)).chunk(3, dim=-1))
        attn = self.attend(q @ k.transpose(-1, -2) * self.scale)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([Attention(dim, heads=heads, dim_head=dim_head), FeedForward(dim, mlp_dim)]) for _ in range(depth)])

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class SimpleViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, channels=3, dim_head=64):
        super().__init__()
        assert image_size % patch_size == 0, 'the image side must be a multiple of the patch side'
        self.to_patch_embedding = nn.Sequential(PatchGrid(patch_size), nn.Linear(channels * patch_size ** 2, dim))
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim)
        self.to_latent = nn.Identity()
        self.linear_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img):
        x = self.to_patch_embedding(img)  # b h w d
        b, h, w, d = x.shape
        x = x.reshape(b, h * w, d) + sincos_positions(h, w, d, dtype=x.dtype).to(x.device)
        x = self.transformer(x).mean(dim=1)
        return self.linear_head(self.to_latent(x))
