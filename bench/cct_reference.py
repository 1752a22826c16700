#!/usr/bin/python3
"""The PyTorch side of the CCT interchange: SHI-Labs' `CCT` module (Hassani et al. 2021,
github.com/SHI-Labs/Compact-Transformers, src/cct.py and src/utils/), rewritten here with the same
module tree, parameter names and arithmetic, so that a state_dict it loads with strict=True is one
their code loads too, plus a minimal safetensors reader/writer (no `safetensors` package needed).

    /usr/bin/python3 bench/cct_reference.py fixture            # writes test/fixtures/cct-*.safetensors + .json
    /usr/bin/python3 bench/cct_reference.py check --weights model.safetensors --predictions preds.csv \
        [--data-dir data] [--limit N]

`check` builds CCT(**cct_args) from the file's metadata, loads the weights strictly, classifies the
CIFAR-10 test images (normalized as `vit` does) and compares its classes with `vit eval
--predictions`. Needs Debian's python3-torch; not part of CI (the committed fixtures are).
"""
import argparse
import csv
import json
import math
import struct
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# The model: the same modules and attribute names as SHI-Labs' code.

class DropPath(nn.Module):
    """Stochastic depth per sample (timm's drop_path)."""

    def __init__(self, drop_prob=None):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if not self.drop_prob or not self.training:
            return x
        keep = 1 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x.div(keep) * mask


class Tokenizer(nn.Module):
    def __init__(self, kernel_size, stride, padding, pooling_kernel_size=3, pooling_stride=2,
                 pooling_padding=1, n_conv_layers=1, n_input_channels=3, n_output_channels=64,
                 in_planes=64, activation=None, max_pool=True, conv_bias=False):
        super().__init__()
        channels = [n_input_channels] + [in_planes] * (n_conv_layers - 1) + [n_output_channels]
        self.conv_layers = nn.Sequential(*[
            nn.Sequential(
                nn.Conv2d(channels[i], channels[i + 1], kernel_size=(kernel_size, kernel_size),
                          stride=(stride, stride), padding=(padding, padding), bias=conv_bias),
                nn.Identity() if activation is None else activation(),
                nn.MaxPool2d(kernel_size=pooling_kernel_size, stride=pooling_stride,
                             padding=pooling_padding) if max_pool else nn.Identity())
            for i in range(n_conv_layers)])
        self.flattener = nn.Flatten(2, 3)
        self.apply(self.init_weight)

    def sequence_length(self, n_channels=3, height=224, width=224):
        return self.forward(torch.zeros((1, n_channels, height, width))).shape[1]

    def forward(self, x):
        return self.flattener(self.conv_layers(x)).transpose(-2, -1)

    @staticmethod
    def init_weight(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, attention_dropout=0.1, projection_dropout=0.1):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.attn_drop = nn.Dropout(attention_dropout)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(projection_dropout)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class TransformerEncoderLayer(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, attention_dropout=0.1,
                 drop_path_rate=0.1):
        super().__init__()
        self.pre_norm = nn.LayerNorm(d_model)
        self.self_attn = Attention(dim=d_model, num_heads=nhead, attention_dropout=attention_dropout,
                                   projection_dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.dropout2 = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.activation = F.gelu

    def forward(self, src):
        src = src + self.drop_path(self.self_attn(self.pre_norm(src)))
        src = self.norm1(src)
        src2 = self.linear2(self.dropout1(self.activation(self.linear1(src))))
        return src + self.drop_path(self.dropout2(src2))


class TransformerClassifier(nn.Module):
    """Only the seq_pool=True form, which is the one CCT builds."""

    def __init__(self, embedding_dim=768, num_layers=12, num_heads=12, mlp_ratio=4.0,
                 num_classes=1000, dropout=0.1, attention_dropout=0.1, stochastic_depth=0.1,
                 positional_embedding='sine', sequence_length=None):
        super().__init__()
        dim_feedforward = int(embedding_dim * mlp_ratio)
        self.attention_pool = nn.Linear(embedding_dim, 1)
        if positional_embedding == 'learnable':
            self.positional_emb = nn.Parameter(torch.zeros(1, sequence_length, embedding_dim))
            nn.init.trunc_normal_(self.positional_emb, std=0.2)
        elif positional_embedding == 'sine':
            self.positional_emb = nn.Parameter(self.sinusoidal_embedding(sequence_length, embedding_dim),
                                               requires_grad=False)
        else:
            self.positional_emb = None
        self.dropout = nn.Dropout(p=dropout)
        rates = [x.item() for x in torch.linspace(0, stochastic_depth, num_layers)]
        self.blocks = nn.ModuleList([
            TransformerEncoderLayer(d_model=embedding_dim, nhead=num_heads, dim_feedforward=dim_feedforward,
                                    dropout=dropout, attention_dropout=attention_dropout, drop_path_rate=rates[i])
            for i in range(num_layers)])
        self.norm = nn.LayerNorm(embedding_dim)
        self.fc = nn.Linear(embedding_dim, num_classes)
        self.apply(self.init_weight)

    def forward(self, x):
        if self.positional_emb is not None:
            x = x + self.positional_emb
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        x = torch.matmul(F.softmax(self.attention_pool(x), dim=1).transpose(-1, -2), x).squeeze(-2)
        return self.fc(x)

    @staticmethod
    def init_weight(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    @staticmethod
    def sinusoidal_embedding(n_channels, dim):
        pe = torch.FloatTensor([[p / (10000 ** (2 * (i // 2) / dim)) for i in range(dim)]
                                for p in range(n_channels)])
        pe[:, 0::2] = torch.sin(pe[:, 0::2])
        pe[:, 1::2] = torch.cos(pe[:, 1::2])
        return pe.unsqueeze(0)


class CCT(nn.Module):
    def __init__(self, img_size=224, embedding_dim=768, n_input_channels=3, n_conv_layers=1,
                 kernel_size=7, stride=2, padding=3, pooling_kernel_size=3, pooling_stride=2,
                 pooling_padding=1, dropout=0., attention_dropout=0.1, stochastic_depth=0.1,
                 num_layers=14, num_heads=6, mlp_ratio=4.0, num_classes=1000,
                 positional_embedding='learnable'):
        super().__init__()
        self.tokenizer = Tokenizer(n_input_channels=n_input_channels, n_output_channels=embedding_dim,
                                   kernel_size=kernel_size, stride=stride, padding=padding,
                                   pooling_kernel_size=pooling_kernel_size, pooling_stride=pooling_stride,
                                   pooling_padding=pooling_padding, max_pool=True, activation=nn.ReLU,
                                   n_conv_layers=n_conv_layers, conv_bias=False)
        self.classifier = TransformerClassifier(
            sequence_length=self.tokenizer.sequence_length(n_channels=n_input_channels, height=img_size,
                                                           width=img_size),
            embedding_dim=embedding_dim, dropout=dropout, attention_dropout=attention_dropout,
            stochastic_depth=stochastic_depth, num_layers=num_layers, num_heads=num_heads,
            mlp_ratio=mlp_ratio, num_classes=num_classes, positional_embedding=positional_embedding)

    def forward(self, x):
        return self.classifier(self.tokenizer(x))


# ---------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.

def save_safetensors(path, tensors, metadata=None):
    header = {'__metadata__': metadata} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().to(torch.float32)
        data = t.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    Path(path).write_bytes(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def load_safetensors(path):
    raw = Path(path).read_bytes()
    (length,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop('__metadata__', {})
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        assert info['dtype'] == 'F32', f'{name}: {info["dtype"]}'
        start, end = info['data_offsets']
        values = struct.unpack(f'<{(end - start) // 4}f', raw[base + start:base + end])
        tensors[name] = torch.tensor(values, dtype=torch.float32).reshape(info['shape'])
    return tensors, metadata


# ---------------------------------------------------------------------------------------------

FIXTURES = {
    # Two conv layers, learnable positions: every kind of tensor the format has.
    'cct-tiny': dict(img_size=8, embedding_dim=8, n_conv_layers=2, kernel_size=3, stride=1, padding=1,
                     pooling_kernel_size=3, pooling_stride=2, pooling_padding=1, num_layers=2, num_heads=2,
                     mlp_ratio=2, num_classes=3, positional_embedding='learnable'),
    # One strided conv, sinusoidal positions (a frozen tensor in the state_dict).
    'cct-tiny-sine': dict(img_size=8, embedding_dim=8, n_conv_layers=1, kernel_size=3, stride=2, padding=1,
                          pooling_kernel_size=3, pooling_stride=2, pooling_padding=1, num_layers=1, num_heads=2,
                          mlp_ratio=1, num_classes=3, positional_embedding='sine'),
}


def write_fixtures(out_dir):
    for name, args in FIXTURES.items():
        torch.manual_seed(0)
        model = CCT(**args).eval()
        with torch.no_grad():
            # Random values everywhere (not zero biases, unit norms), so a misplaced tensor shows.
            for pname, p in model.named_parameters():
                if p.requires_grad:
                    p.copy_(torch.randn_like(p) * (0.5 if p.ndim > 1 else 0.2) + (1.0 if 'norm' in pname and pname.endswith('weight') else 0.0))
            images = torch.randn(2, 3, args['img_size'], args['img_size'])
            logits = model(images)
        save_safetensors(out_dir / f'{name}.safetensors', model.state_dict(),
                         {'format': 'pt', 'cct_args': json.dumps(args)})
        expected = {
            'cct_args': args,
            'images_nhwc': [round(v, 7) for v in images.permute(0, 2, 3, 1).flatten().tolist()],
            'images_shape_nhwc': list(images.permute(0, 2, 3, 1).shape),
            'logits': [[round(v, 7) for v in row] for row in logits.tolist()],
        }
        (out_dir / f'{name}.expected.json').write_text(json.dumps(expected) + '\n')
        print(f'wrote {out_dir / name}.safetensors (+ .expected.json): logits {logits.tolist()}')


MEAN, STD = (0.4914, 0.4822, 0.4465), (0.247, 0.2435, 0.2616)


def cifar_test_images(data_dir, limit):
    raw = (Path(data_dir) / 'cifar-10-batches-bin' / 'test_batch.bin').read_bytes()
    n = len(raw) // 3073 if limit is None else min(limit, len(raw) // 3073)
    records = torch.frombuffer(bytearray(raw[:n * 3073]), dtype=torch.uint8).reshape(n, 3073)
    labels = records[:, 0].long()
    images = records[:, 1:].reshape(n, 3, 32, 32).float() / 255
    images = (images - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return images, labels


def check(args):
    tensors, metadata = load_safetensors(args.weights)
    cct_args = json.loads(metadata['cct_args'])
    model = CCT(**cct_args).eval()
    model.load_state_dict(tensors, strict=True)
    print(f'loaded {args.weights} with strict=True into CCT({cct_args})')
    with open(args.predictions) as f:
        rows = list(csv.DictReader(f))
    images, labels = cifar_test_images(args.data_dir, len(rows))
    with torch.no_grad():
        predicted = torch.cat([model(images[i:i + 500]).argmax(1) for i in range(0, len(images), 500)])
    ours = torch.tensor([int(r['prediction']) for r in rows])
    assert all(int(r['label']) == int(l) for r, l in zip(rows, labels)), 'the CSV is not the test set in order'
    same = int((predicted == ours).sum())
    acc = float((predicted == labels).float().mean())
    print(f'{len(rows)} test images: PyTorch accuracy {acc:.4f}; same class as vit eval for {same}/{len(rows)}')
    return 0 if same == len(rows) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    fixture = sub.add_parser('fixture')
    fixture.add_argument('--out-dir', default=str(REPO / 'test' / 'fixtures'))
    checker = sub.add_parser('check')
    checker.add_argument('--weights', required=True)
    checker.add_argument('--predictions', required=True)
    checker.add_argument('--data-dir', default=str(REPO / 'data'))
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.command == 'fixture':
        write_fixtures(Path(args.out_dir))
        return 0
    return check(args)


if __name__ == '__main__':
    sys.exit(main())
