"""PyTorch reference for `npm run bench -- methods`: SimCLR (or BYOL, `--method byol`) trained for the
same image budget on the same cached images, then the same kNN protocol, so Loupe's accuracy has a
number to stand beside.

BYOL: the same encoder and projector, a predictor 128→512→BN→ReLU→128, a target network that is an
EMA of encoder + projector (momentum from --momentum rising to 1 on a cosine), symmetric
2 − 2·cos loss; both views use the SimCLR augmentations below. As Loupe's fast-CPU BYOL: each view
goes through the networks on its own (batch norm over one view), --fixed-predictor-rate keeps the
predictor at the peak learning rate, and --koleo adds that weight × the KoLeo term (−mean log
distance to the nearest other row of the L2-normalised encoder features, per view).

Same model as simclr_step.py (narrow ResNet-18, projector d→512→BN→ReLU→128), NT-Xent τ = 0.2,
Adam with linear warm-up + cosine decay, the same SimCLR augmentations (torchvision: random
resized crop, flip, colour jitter 0.8·s with s = 0.5, grayscale 0.2) and the same kNN monitor
(k = 20, cosine, weights exp(sim / 0.07), train rows as the bank, test rows as queries).

Input: the raw uint8 N×S×S×3 cache file Loupe trains from, plus a JSON with labels and split.
Prints one JSON line.
"""
import argparse
import json
import math
import copy
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from simclr_step import ResNet18, nt_xent


def augment(batch, size, gen, min_scale=0.2):
    """SimCLR views of a uint8 NHWC batch, on tensors, per image."""
    import torchvision.transforms.functional as TF
    out = []
    for img in batch:
        x = img.permute(2, 0, 1).float() / 255
        scale = torch.empty(1).uniform_(min_scale, 1, generator=gen).item()
        logr = torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3), generator=gen).item()
        area = scale * size * size
        w = int(round(math.sqrt(area * math.exp(logr))))
        h = int(round(math.sqrt(area / math.exp(logr))))
        w, h = max(1, min(size, w)), max(1, min(size, h))
        top = int(torch.randint(0, size - h + 1, (1,), generator=gen))
        left = int(torch.randint(0, size - w + 1, (1,), generator=gen))
        x = TF.resized_crop(x, top, left, h, w, [size, size], antialias=True)
        if torch.rand(1, generator=gen).item() < 0.5:
            x = TF.hflip(x)
        if torch.rand(1, generator=gen).item() < 0.8:
            s = 0.5
            ops = torch.randperm(4, generator=gen).tolist()
            for op in ops:
                if op == 0:
                    x = TF.adjust_brightness(x, torch.empty(1).uniform_(1 - 0.8 * s, 1 + 0.8 * s, generator=gen).item())
                elif op == 1:
                    x = TF.adjust_contrast(x, torch.empty(1).uniform_(1 - 0.8 * s, 1 + 0.8 * s, generator=gen).item())
                elif op == 2:
                    x = TF.adjust_saturation(x, torch.empty(1).uniform_(1 - 0.8 * s, 1 + 0.8 * s, generator=gen).item())
                else:
                    x = TF.adjust_hue(x, torch.empty(1).uniform_(-0.2 * s, 0.2 * s, generator=gen).item())
        if torch.rand(1, generator=gen).item() < 0.2:
            x = TF.rgb_to_grayscale(x, 3)
        out.append(x)
    return torch.stack(out)


def koleo(x):
    x = F.normalize(x, dim=1)
    sim = x @ x.T - 4 * torch.eye(x.shape[0])
    distance = torch.sqrt(torch.clamp(2 - 2 * sim.max(1).values, min=1e-8))
    return -torch.log(distance + 1e-8).mean()


def knn(features, labels, bank, queries, k=20, tau=0.07):
    f = F.normalize(features, dim=1)
    sims = f[queries] @ f[bank].t()
    top, idx = sims.topk(k, dim=1)
    votes = torch.zeros(len(queries), int(labels.max()) + 1)
    votes.scatter_add_(1, labels[bank][idx], torch.exp(top / tau))
    return (votes.argmax(1) == labels[queries]).float().mean().item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pixels", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-scale", type=float, default=0.2)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--method", choices=["simclr", "byol"], default="simclr")
    p.add_argument("--momentum", type=float, default=0.99)
    p.add_argument("--koleo", type=float, default=0.0)
    p.add_argument("--fixed-predictor-rate", action="store_true")
    p.add_argument("--seed", type=int, default=0, help="weights, crops and batch order")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    meta = json.load(open(args.meta))
    size, n = meta["size"], meta["count"]
    pixels = torch.from_numpy(np.fromfile(args.pixels, dtype=np.uint8).reshape(n, size, size, 3).copy())
    mean = torch.tensor(meta["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(meta["std"]).view(1, 3, 1, 1)
    labels = torch.tensor(meta["labels"])
    bank = [i for i, s in enumerate(meta["split"]) if s == "train" and meta["labels"][i] >= 0]
    queries = [i for i, s in enumerate(meta["split"]) if s == "test" and meta["labels"][i] >= 0]

    encoder = ResNet18(args.width, size)
    projector = nn.Sequential(nn.Linear(encoder.dim, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128))
    model = nn.Sequential(encoder, projector)
    byol = args.method == "byol"
    if byol:
        predictor = nn.Sequential(nn.Linear(128, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128))
        target = copy.deepcopy(model)
        for t in target.parameters():
            t.requires_grad_(False)
        # The predictor in a group of its own, for --fixed-predictor-rate.
        groups = [{"params": model.parameters()}, {"params": predictor.parameters(), "predictor": True}]
    else:
        groups = [{"params": model.parameters()}]
    opt = torch.optim.Adam(groups, lr=args.lr, weight_decay=1e-6)
    steps_per_epoch = n // args.batch
    total = steps_per_epoch * args.epochs
    warm = int(args.warmup * steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)

    def features():
        model.eval()
        with torch.no_grad():
            out = torch.cat([encoder((pixels[i:i + 256].permute(0, 3, 1, 2).float() / 255 - mean) / std) for i in range(0, n, 256)])
        model.train()
        return out

    floor = knn(features(), labels, bank, queries)
    start, step, losses = time.perf_counter(), 0, []
    for epoch in range(args.epochs):
        perm = torch.randperm(n, generator=gen)
        for b in range(steps_per_epoch):
            rows = perm[b * args.batch:(b + 1) * args.batch]
            views = torch.cat([(augment(pixels[rows], size, gen, args.min_scale) - mean) / std for _ in range(2)])
            lr = args.lr * (step + 1) / warm if step < warm else args.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for g in opt.param_groups:
                g["lr"] = args.lr if args.fixed_predictor_rate and g.get("predictor") else lr
            opt.zero_grad(set_to_none=True)
            if byol:
                half = views.shape[0] // 2
                v1, v2 = views[:half], views[half:]
                f1, f2 = encoder(v1), encoder(v2)
                p1, p2 = (F.normalize(predictor(projector(f)), dim=1) for f in (f1, f2))
                with torch.no_grad():
                    z1, z2 = (F.normalize(target(v), dim=1) for v in (v1, v2))
                # Each view regresses the other's target.
                loss = (2 - 2 * (p1 * z2).sum(1)).mean() + (2 - 2 * (p2 * z1).sum(1)).mean()
                if args.koleo:
                    loss = loss + args.koleo * (koleo(f1) + koleo(f2)) / 2
            else:
                loss = nt_xent(model(views), 0.2)
            loss.backward()
            opt.step()
            if byol:
                m = 1 - (1 - args.momentum) * (math.cos(math.pi * step / max(1, total)) + 1) / 2
                with torch.no_grad():
                    for t, o in zip(target.parameters(), model.parameters()):
                        t.mul_(m).add_(o.detach(), alpha=1 - m)
                    for t, o in zip(target.buffers(), model.buffers()):
                        t.copy_(o)
            losses.append(loss.item())
            step += 1
    elapsed = time.perf_counter() - start
    acc = knn(features(), labels, bank, queries)
    print(json.dumps({"knn": acc, "floor": floor, "seconds": elapsed, "imagesPerSecond": step * args.batch / elapsed,
                      "firstLoss": float(np.mean(losses[:steps_per_epoch])), "lastLoss": float(np.mean(losses[-steps_per_epoch:])),
                      "steps": step, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
