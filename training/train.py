#!/usr/bin/env python3
"""Train the rsvision-shapes detector and export it to ONNX (YOLOv8 layout).

  OMP_NUM_THREADS=1 python3 training/train.py --steps 6000 --out models/rsvision-shapes.onnx

Needs torch, numpy, pillow, onnx (and onnxruntime for the final check).
Scenes come from render.py (seeds >= 1000000, never used by evaluate.py),
rendered on the fly into a rolling pool, letterboxed to 320x320 exactly like
inference does, with JPEG (4:2:0) re-encoding, blur, channel permutation and
flips as augmentation.

Model: small plain CNN (conv-BN-ReLU), FPN neck, heads at strides 8/16/32
(40x40 + 20x20 + 10x10 = 2100 anchor points), anchor-free: each point predicts
ltrb distances (softplus * stride) and C class logits.  Assignment: points
inside the (centre region of the) box on the level(s) matching the box size;
loss: quality focal loss (target = IoU of the predicted box) + GIoU.
Exported output0 [1, 4+C, 2100] = cx, cy, w, h (input px), sigmoid scores.
"""

import argparse
import io
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render  # noqa: E402
import evaluate  # noqa: E402

torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))

INPUT = 320
STRIDES = (8, 16, 32)
NC = len(render.LABELS)
TRAIN_SEED = 1_000_000
FRAME_SIZES = [((640, 480), 0.30), ((1280, 720), 0.12), ((480, 480), 0.14),
               ((320, 240), 0.14), ((640, 360), 0.10), ((480, 640), 0.08),
               ((800, 600), 0.06), ((352, 288), 0.06)]
# size (max side, model px) ranges handled by each level; overlapping on purpose
LEVEL_RANGES = ((0, 48), (32, 112), (80, 1e9))


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

def cbr(ci, co, k=3, s=1):
    return nn.Sequential(nn.Conv2d(ci, co, k, s, k // 2, bias=False),
                         nn.BatchNorm2d(co), nn.ReLU(inplace=True))


class Net(nn.Module):
    def __init__(self, nc=NC, w=(16, 32, 64, 96, 128), neck=64):
        super().__init__()
        self.nc = nc
        self.s1 = nn.Sequential(cbr(3, w[0], 3, 2), cbr(w[0], w[1], 3, 2), cbr(w[1], w[1]))   # /4
        self.s2 = nn.Sequential(cbr(w[1], w[2], 3, 2), cbr(w[2], w[2]), cbr(w[2], w[2]))      # /8
        self.s3 = nn.Sequential(cbr(w[2], w[3], 3, 2), cbr(w[3], w[3]), cbr(w[3], w[3]))      # /16
        self.s4 = nn.Sequential(cbr(w[3], w[4], 3, 2), cbr(w[4], w[4]), cbr(w[4], w[4]))      # /32
        self.l5 = cbr(w[4], neck, 1)
        self.l4 = cbr(w[3], neck, 1)
        self.l3 = cbr(w[2], neck, 1)
        self.f4 = cbr(neck, neck)
        self.f3 = cbr(neck, neck)
        self.d3 = cbr(neck, neck, 3, 2)   # bottom-up (PAN) path
        self.p4 = cbr(neck, neck)
        self.d4 = cbr(neck, neck, 3, 2)
        self.p5 = cbr(neck, neck)
        self.heads = nn.ModuleList([nn.Sequential(cbr(neck, neck), nn.Conv2d(neck, 4 + nc, 1))
                                    for _ in STRIDES])
        prior = 0.01
        for h in self.heads:
            nn.init.constant_(h[-1].bias[4:], -math.log((1 - prior) / prior))
            nn.init.constant_(h[-1].bias[:4], 0.5)
        anchors, strides = [], []
        for s in STRIDES:
            n = INPUT // s
            ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
            anchors.append(torch.stack([(xs.flatten() + 0.5) * s, (ys.flatten() + 0.5) * s], 1))
            strides.append(torch.full((n * n,), float(s)))
        self.register_buffer("anchors", torch.cat(anchors).float(), persistent=False)
        self.register_buffer("strides", torch.cat(strides).float(), persistent=False)

    def raw(self, x):
        c3 = self.s2(self.s1(x))
        c4 = self.s3(c3)
        c5 = self.s4(c4)
        p5 = self.l5(c5)
        p4 = self.f4(self.l4(c4) + F.interpolate(p5, scale_factor=2.0, mode="nearest"))
        p3 = self.f3(self.l3(c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest"))
        n4 = self.p4(p4 + self.d3(p3))
        n5 = self.p5(p5 + self.d4(n4))
        outs = [h(f).flatten(2) for h, f in zip(self.heads, (p3, n4, n5))]
        return torch.cat(outs, 2)  # B, 4+C, N

    def decode_ltrb(self, raw):
        # raw[:, :4] -> ltrb distances in px
        return F.softplus(raw[:, :4]) * self.strides[None, None, :] * 2.0

    def forward(self, x):
        """Export path: [B, 4+C, N] with cx, cy, w, h, sigmoid scores."""
        r = self.raw(x)
        ltrb = self.decode_ltrb(r)
        ax, ay = self.anchors[:, 0][None], self.anchors[:, 1][None]
        l, t, rr, b = ltrb[:, 0], ltrb[:, 1], ltrb[:, 2], ltrb[:, 3]
        cx = ax + (rr - l) * 0.5
        cy = ay + (b - t) * 0.5
        w = l + rr
        h = t + b
        box = torch.stack([cx, cy, w, h], 1)
        return torch.cat([box, torch.sigmoid(r[:, 4:])], 1)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def make_sample(index):
    """Render training scene `index`, augment, letterbox. Returns (uint8 320x320x3, boxes (M,5))."""
    rng = np.random.default_rng([TRAIN_SEED, index, 7])
    sizes, probs = zip(*FRAME_SIZES)
    w, h = sizes[rng.choice(len(sizes), p=np.array(probs) / sum(probs))]
    frame, truth = render.scene(TRAIN_SEED + int(rng.integers(0, 1 << 20)), index, w, h)
    pil = Image.fromarray(frame)
    if rng.uniform() < 0.15:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    if rng.uniform() < 0.6:
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(rng.integers(20, 90)))
        buf.seek(0)
        pil = Image.open(buf).convert("RGB")
    r, nw, nh, left, top = evaluate.letterbox_geometry(w, h)
    mode = rng.choice(3, p=[0.45, 0.25, 0.30])
    if mode == 0:
        resized = np.asarray(pil.resize((nw, nh), Image.BILINEAR))   # antialiased
    elif mode == 1:
        resized = np.asarray(pil.resize((nw, nh), Image.NEAREST))
    else:
        resized = evaluate.resize_bilinear(np.asarray(pil), nw, nh)   # plain bilinear
    lb, _ = evaluate.letterbox(np.asarray(pil), resized=resized)
    boxes = np.array([[o["x_min"] * r + left, o["y_min"] * r + top,
                       o["x_max"] * r + left, o["y_max"] * r + top, o["label_id"]]
                      for o in truth], np.float32).reshape(-1, 5)
    return lb, boxes


def augment_batch(items, rng):
    imgs, targets = [], []
    for lb, boxes in items:
        lb = lb
        boxes = boxes.copy()
        if rng.uniform() < 0.5:
            lb = lb[:, ::-1]
            x0 = INPUT - boxes[:, 2]
            x1 = INPUT - boxes[:, 0]
            boxes[:, 0], boxes[:, 2] = x0, x1
        if rng.uniform() < 0.5:
            lb = lb[:, :, rng.permutation(3)]
        imgs.append(np.ascontiguousarray(lb))
        targets.append(boxes)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255.0
    return x, targets


# --------------------------------------------------------------------------
# Assignment + loss
# --------------------------------------------------------------------------

def box_iou_pairs(a, b, giou=False):
    ix0 = torch.max(a[:, 0], b[:, 0])
    iy0 = torch.max(a[:, 1], b[:, 1])
    ix1 = torch.min(a[:, 2], b[:, 2])
    iy1 = torch.min(a[:, 3], b[:, 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = aa + ab - inter + 1e-7
    iou = inter / union
    if not giou:
        return iou
    cw = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
    ch = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
    carea = cw * ch + 1e-7
    return iou - (carea - union) / carea


def assign(anchors, strides, gt, radius=2.5):
    """gt: (M,5) tensor. Returns (gt index per anchor or -1)."""
    n = anchors.shape[0]
    if gt.shape[0] == 0:
        return torch.full((n,), -1, dtype=torch.long)
    ax, ay = anchors[:, 0:1], anchors[:, 1:2]          # N,1
    x0, y0, x1, y1 = gt[:, 0][None], gt[:, 1][None], gt[:, 2][None], gt[:, 3][None]
    inside = (ax > x0) & (ax < x1) & (ay > y0) & (ay < y1)
    gcx, gcy = (x0 + x1) / 2, (y0 + y1) / 2
    s = strides[:, None]
    central = ((ax - gcx).abs() < radius * s) & ((ay - gcy).abs() < radius * s)
    maxside = torch.max(x1 - x0, y1 - y0)               # 1,M
    lvl_ok = torch.zeros_like(inside)
    for st, (lo, hi) in zip(STRIDES, LEVEL_RANGES):
        lvl_ok |= (s == st) & (maxside >= lo) & (maxside <= hi)
    cand = inside & central & lvl_ok
    area = ((x1 - x0) * (y1 - y0)).expand(n, -1)
    cost = torch.where(cand, area, torch.full_like(area, float("inf")))
    best_cost, best = cost.min(1)
    idx = torch.where(torch.isfinite(best_cost), best, torch.full_like(best, -1))
    # guarantee at least one point per gt: nearest stride-8 point to the centre
    have = torch.zeros(gt.shape[0], dtype=torch.bool)
    have[idx[idx >= 0].unique()] = True
    for j in torch.where(~have)[0].tolist():
        d = (anchors[:, 0] - gcx[0, j]) ** 2 + (anchors[:, 1] - gcy[0, j]) ** 2
        lvl = 0
        for k, (lo, hi) in enumerate(LEVEL_RANGES):
            if lo <= float(maxside[0, j]) <= hi:
                lvl = k
                break
        d = torch.where(strides == STRIDES[lvl], d, torch.full_like(d, float("inf")))
        idx[d.argmin()] = j
    return idx


def compute_loss(model, raw, targets):
    B = raw.shape[0]
    ltrb = model.decode_ltrb(raw)                       # B,4,N
    anchors, strides = model.anchors, model.strides
    ax, ay = anchors[:, 0], anchors[:, 1]
    pred = torch.stack([ax - ltrb[:, 0], ay - ltrb[:, 1], ax + ltrb[:, 2], ay + ltrb[:, 3]], 2)  # B,N,4
    logits = raw[:, 4:].permute(0, 2, 1)                 # B,N,C
    cls_t = torch.zeros_like(logits)
    box_losses, npos = [], 0
    for b in range(B):
        gt = torch.from_numpy(targets[b])
        idx = assign(anchors, strides, gt)
        pos = idx >= 0
        if pos.any():
            g = gt[idx[pos]]
            p = pred[b, pos]
            giou = box_iou_pairs(p, g[:, :4], giou=True)
            with torch.no_grad():
                iou = box_iou_pairs(p, g[:, :4]).clamp(min=0.0)
            cls_t[b, pos, g[:, 4].long()] = iou
            box_losses.append(1.0 - giou)
            npos += int(pos.sum())
    npos = max(npos, 1)
    # quality focal loss
    sig = torch.sigmoid(logits)
    qfl = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="none") * (sig - cls_t).abs().pow(2.0)
    l_cls = qfl.sum() / npos
    l_box = torch.cat(box_losses).sum() / npos if box_losses else logits.sum() * 0
    return l_cls + 2.0 * l_box, float(l_cls.detach()), float(l_box.detach())


# --------------------------------------------------------------------------
# Evaluation with torch model (same decode as evaluate.py)
# --------------------------------------------------------------------------

def quick_eval(model, count=60, sizes=((640, 480), (1280, 720))):
    model.eval()
    res = []
    with torch.no_grad():
        for (w, h) in sizes:
            c = evaluate.Counter()
            for i in range(count):
                frame, truth = render.scene(777, i, w, h)
                lb, geom = evaluate.letterbox(frame)
                out = model(torch.from_numpy(evaluate.to_tensor(lb))).numpy()
                c.add(evaluate.decode(out, geom, w, h), truth)
            res.append((w, h, c.precision, c.recall))
    model.train()
    return res


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

def export(model, path, extra_desc=""):
    import onnx
    model.eval()
    dummy = torch.zeros(1, 3, INPUT, INPUT)
    tmp = path + ".tmp"
    torch.onnx.export(model, dummy, tmp, input_names=["images"], output_names=["output0"],
                      opset_version=17, do_constant_folding=True, dynamo=False)
    m = onnx.load(tmp)
    os.remove(tmp)
    names = {i: n for i, n in enumerate(render.LABELS)}
    meta = {
        "description": "rsvision-shapes: YOLOv8-layout detector for synthetic shapes "
                       "(gst-plugin-rsvision)" + extra_desc,
        "author": "gst-plugin-rsvision",
        "license": "MIT OR Apache-2.0",
        "stride": "32",
        "task": "detect",
        "batch": "1",
        "imgsz": str([INPUT, INPUT]),
        "names": str(names),
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "gst-plugin-rsvision training/train.py"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        f.write("\n".join(render.LABELS) + "\n")
    model.train()


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--pool", type=int, default=3000, help="rolling pool of rendered samples")
    ap.add_argument("--fresh", type=int, default=4, help="new renders per step")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "rsvision-shapes.onnx"))
    ap.add_argument("--ckpt", default="/tmp/rsvision-shapes.pt")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--eval-every", type=int, default=1000)
    a = ap.parse_args()

    torch.manual_seed(0)
    model = Net()
    print("params:", sum(p.numel() for p in model.parameters()))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    start = 0
    next_index = 0
    if a.resume and os.path.exists(a.ckpt):
        ck = torch.load(a.ckpt)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start, next_index = ck["step"], ck["next_index"]
        print("resumed at step", start)

    if a.bench:
        t0 = time.time()
        items = [make_sample(i) for i in range(32)]
        print("render+letterbox per sample: %.1f ms" % ((time.time() - t0) / 32 * 1000))
        rng = np.random.default_rng(0)
        for it in range(4):
            x, tg = augment_batch(items[:a.batch], rng)
            t0 = time.time()
            loss, lc, lb = compute_loss(model, model.raw(x), tg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print("step %.0f ms loss %.3f" % ((time.time() - t0) * 1000, float(loss)))
        return

    rng = np.random.default_rng(12345 + start)
    pool = []
    t_start = time.time()
    warm = 300
    while len(pool) < min(a.pool, a.batch * 8):
        pool.append(make_sample(next_index))
        next_index += 1
    ema_c = ema_b = None
    for step in range(start, a.steps):
        # lr: warmup then cosine to 2%
        if step < warm:
            lr = a.lr * (step + 1) / warm
        else:
            lr = a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, a.steps - warm))))
        for g in opt.param_groups:
            g["lr"] = lr
        for _ in range(a.fresh):
            s = make_sample(next_index)
            next_index += 1
            if len(pool) < a.pool:
                pool.append(s)
            else:
                pool[int(rng.integers(0, len(pool)))] = s
        # always include the newest samples, the rest from the pool
        sel = [pool[int(i)] for i in rng.integers(0, len(pool), a.batch)]
        x, tg = augment_batch(sel, rng)
        loss, lc, lb = compute_loss(model, model.raw(x), tg)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        ema_c = lc if ema_c is None else 0.98 * ema_c + 0.02 * lc
        ema_b = lb if ema_b is None else 0.98 * ema_b + 0.02 * lb
        if step % 50 == 0:
            el = time.time() - t_start
            print(f"step {step} lr {lr:.5f} cls {ema_c:.4f} box {ema_b:.4f} pool {len(pool)} "
                  f"rendered {next_index} elapsed {el / 60:.1f} min", flush=True)
        if (step + 1) % a.eval_every == 0 or step + 1 == a.steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "next_index": next_index}, a.ckpt)
            r = quick_eval(model)
            print("eval", " ".join(f"{w}x{h}: P {p:.3f} R {rc:.3f}" for w, h, p, rc in r), flush=True)
            try:
                export(model, a.out)
            except Exception as e:  # keep training even if export breaks
                print("export failed:", e, flush=True)
    print("training time: %.1f min" % ((time.time() - t_start) / 60))
    export(model, a.out)
    print("exported", a.out)


if __name__ == "__main__":
    main()
