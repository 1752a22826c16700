#!/usr/bin/python3
"""The PyTorch side of vit's `mobilevit` family: MobileViT (Mehta & Rastegari 2022, "MobileViT:
Light-weight, General-purpose, and Mobile-friendly Vision Transformer") with the module tree of
kentaroy47/vision-transformers-cifar10's models/mobilevit.py (chinhsuanwu/mobilevit-pytorch's),
so that its state_dict names are that file's: a `.pth` written by its train_cifar10.py --net
mobilevit loads here with strict=True, and the reverse. bench/kentaroy47_reference.py builds it.

The tree, by attribute name:
  conv1                     Sequential(Conv2d 3x3 stride 2, BatchNorm2d, SiLU)
  mv2[0..6]                 MV2Block: `conv` a Sequential of 1x1 expand, BN, SiLU, 3x3 depthwise
                            (with the block's stride), BN, SiLU, 1x1 project, BN (no expand conv
                            when expansion is 1); a residual when stride 1 and channels match
  mvit[0..2]                MobileViTBlock: conv1 (3x3, BN, SiLU), conv2 (1x1 to dim, BN, SiLU),
                            transformer.layers[j] = [PreNorm(Attention), PreNorm(FeedForward)],
                            conv3 (1x1 back, BN, SiLU), conv4 (3x3 on the concat with the input)
  conv2                     Sequential(Conv2d 1x1, BatchNorm2d, SiLU)
  pool, fc                  AvgPool2d(image_size // 32, 1), Linear without bias
"""
import torch
from torch import nn
from vit_pytorch_layers import PreNorm

# The transformer of every MobileViT block: its depth per block, heads and head width (fixed in
# mobilevit.py), and its MLP width as a multiple of the block's dim.
DEPTHS = (2, 4, 3)
HEADS, DIM_HEAD = 4, 8
MLP_RATIOS = (2, 4, 4)


def conv_bn_silu(cin, cout, kernel, stride=1):
    """Conv (no bias; padding 1 for a 3x3, 0 for a 1x1) → BatchNorm → SiLU, as indices 0, 1, 2."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, 1 if kernel > 1 else 0, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class MV2Block(nn.Module):
    """MobileNetV2's inverted residual: expand (1x1), filter (3x3 depthwise, strided), project (1x1, linear)."""

    def __init__(self, inp, oup, stride=1, expansion=4):
        super().__init__()
        hidden = int(inp * expansion)
        self.use_res_connect = stride == 1 and inp == oup
        expand = [] if expansion == 1 else [nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.SiLU()]
        self.conv = nn.Sequential(
            *expand,
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.SiLU(),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res_connect else y


class Attention(nn.Module):
    """Self-attention among the tokens of each patch position: x [b, p, n, dim], softmax over n."""

    def __init__(self, dim, heads, dim_head):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.))

    def forward(self, x):
        b, p, n, _ = x.shape
        q, k, v = (t.view(b, p, n, self.heads, -1).transpose(2, 3) for t in self.to_qkv(x).chunk(3, dim=-1))
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        return self.to_out((attn @ v).transpose(2, 3).reshape(b, p, n, -1))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Dropout(0.), nn.Linear(hidden, dim), nn.Dropout(0.))

    def forward(self, x):
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([PreNorm(dim, Attention(dim, heads, dim_head)), PreNorm(dim, FeedForward(dim, mlp_dim))])
                                     for _ in range(depth)])

    def forward(self, x):
        for attn, ff in self.layers:
            x = x + attn(x)
            x = x + ff(x)
        return x


class MobileViTBlock(nn.Module):
    """Local 3x3 and 1x1 convs, a transformer across patches, back to the channels, fused with the input."""

    def __init__(self, dim, depth, channel, kernel_size, patch_size, mlp_dim):
        super().__init__()
        self.ph, self.pw = patch_size
        self.conv1 = conv_bn_silu(channel, channel, kernel_size)
        self.conv2 = conv_bn_silu(channel, dim, 1)
        self.transformer = Transformer(dim, depth, HEADS, DIM_HEAD, mlp_dim)
        self.conv3 = conv_bn_silu(dim, channel, 1)
        self.conv4 = conv_bn_silu(2 * channel, channel, kernel_size)

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        b, d, h, w = y.shape
        ph, pw = self.ph, self.pw
        # 'b d (h ph) (w pw) -> b (ph pw) (h w) d' and back.
        tokens = y.view(b, d, h // ph, ph, w // pw, pw).permute(0, 3, 5, 2, 4, 1).reshape(b, ph * pw, (h // ph) * (w // pw), d)
        tokens = self.transformer(tokens)
        y = tokens.view(b, ph, pw, h // ph, w // pw, d).permute(0, 5, 3, 1, 4, 2).reshape(b, d, h, w)
        return self.conv4(torch.cat((self.conv3(y), x), 1))


class MobileViT(nn.Module):
    def __init__(self, image_size, dims, channels, num_classes, expansion=4, kernel_size=3, patch_size=(2, 2)):
        super().__init__()
        ih, iw = image_size
        c = channels
        self.conv1 = conv_bn_silu(3, c[0], 3, stride=2)
        # (in, out, stride) of each MV2 block; mobilevit.py gives the 4th block channels[2] in (= channels[3]).
        self.mv2 = nn.ModuleList([MV2Block(i, o, s, expansion) for i, o, s in
                                  [(c[0], c[1], 1), (c[1], c[2], 2), (c[2], c[3], 1), (c[2], c[3], 1), (c[3], c[4], 2), (c[5], c[6], 2), (c[7], c[8], 2)]])
        self.mvit = nn.ModuleList([MobileViTBlock(dims[i], DEPTHS[i], c[5 + 2 * i], kernel_size, patch_size, int(dims[i] * MLP_RATIOS[i])) for i in range(3)])
        self.conv2 = conv_bn_silu(c[-2], c[-1], 1)
        self.pool = nn.AvgPool2d(ih // 32, 1)
        self.fc = nn.Linear(c[-1], num_classes, bias=False)

    def forward(self, x):
        x = self.conv1(x)
        for block in self.mv2[:5]:
            x = block(x)
        x = self.mvit[0](x)
        x = self.mvit[1](self.mv2[5](x))
        x = self.mvit[2](self.mv2[6](x))
        x = self.pool(self.conv2(x))
        return self.fc(x.view(-1, x.shape[1]))


def build(args):
    """MobileViT for vit's model config keys `args` (train_cifar10.py's mobilevit_xxs(size, n) at its defaults)."""
    p = args['patch_size']
    return MobileViT((args['image_size'], args['image_size']), args['dims'], args['channels'], num_classes=args['num_classes'],
                     expansion=args['expansion'], kernel_size=args['kernel_size'], patch_size=(p, p))


if __name__ == '__main__':
    # mobilevit_xxs(64, 10): its parameter count.
    model = build({'image_size': 64, 'dims': [64, 80, 96], 'channels': [16, 16, 24, 24, 48, 48, 64, 64, 80, 80, 320], 'num_classes': 10,
                   'expansion': 2, 'kernel_size': 3, 'patch_size': 2})
    print(sum(p.numel() for p in model.parameters() if p.requires_grad), model(torch.zeros(2, 3, 64, 64)).shape)
