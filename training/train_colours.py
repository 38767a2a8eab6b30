#!/usr/bin/env python3
"""Train the rsvision-colours classifier and export it to ONNX (Ultralytics
classify layout), or evaluate an exported one.

  OMP_NUM_THREADS=1 python3 training/train_colours.py            # train + export
  python3 training/train_colours.py --evaluate                    # onnxruntime only

Training needs torch, numpy, pillow and onnx (onnxruntime for the final
check); --evaluate needs numpy, pillow and onnxruntime only (the project
venv).

What it classifies: the colour of the object in a box, one of
render.COLOURS (the palette of `render.py --palette`).  Data: objects of
palette scenes (render.py, seeds >= 2000000, which the tests never use),
cropped from their truth boxes moved about as a detector's boxes are (each
edge jittered, 0-20 % padding on half of the crops), with JPEG 4:2:0
re-encoding of the frame (a stand-in for H.264), blur, mild per-channel gain
and flips as augmentation, then preprocessed the way rsinfer
inference-region=objects does for an Ultralytics classifier: the crop's
shortest side resized to 64 (bilinear; half of the crops with the element's
exact non-antialiased sampling, half with Pillow's antialiased one), the
centre 64x64 taken, RGB / 255, no mean / std.

Model: four 3x3 stride-2 conv-BN-ReLU layers (16, 32, 48, 64 channels, down
to 4x4), flattened (so the head knows where in the crop a
colour is: the object is in the middle, the background at the corners and,
for rings, in the centre) into one linear layer; softmax inside the graph.
Exported output0 [1, C] = class probabilities.
"""

import argparse
import io
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render  # noqa: E402
from evaluate import resize_bilinear  # noqa: E402

INPUT = 64
COLOURS = render.COLOURS
# Scene seeds: training (2000000 and up, indices 0..), the in-training check,
# the held-out evaluation.  The tests use their own seeds (below 1000000).
TRAIN_SEED = 2000000
CHECK_SEED = 2200000
EVAL_SEED = 2100000
# Frame sizes the training scenes are rendered at (objects are 32/640 to
# 200/640 of the longer side, so a frame size is also an object pixel size).
SIZES = [(640, 480), (1280, 720), (320, 240), (480, 480), (640, 360), (800, 600),
         (352, 288), (960, 540)]
# Context kept around each training box (fraction of its size, each side):
# more than the largest padding + jitter, so cropping from the context is
# cropping from the frame.
CONTEXT = 0.45
# Contexts whose box is larger than this (shortest side, px) are stored
# downscaled (antialiased): the crop is shrunk to 64 px anyway.
MAX_BOX = 128
DEFAULT_OUT = os.path.join(HERE, "..", "models", "rsvision-colours.onnx")


# --------------------------------------------------------------------------
# Preprocessing: what rsinfer inference-region=objects does (numpy)
# --------------------------------------------------------------------------

def crop_geometry(box, padding, fw, fh, size=INPUT):
    """The element's CropGeometry for CropFit::CentreCrop.

    box = (x, y, w, h) in frame pixels (float).  Returns (x0, y0, rw0, rh0,
    resized_w, resized_h, off_x, off_y) or None: the integer region (box grown
    by `padding` of its size on each side, rounded outwards, clipped to the
    frame), the size it is resized to (shortest side = size, the other
    truncated as torchvision's Resize) and the centre-crop offsets (Python
    round, ties to even, as torchvision's CenterCrop)."""
    x, y, w, h = box
    if not (w > 0 and h > 0):
        return None

    def span(start, extent, limit):
        lo = max(0.0, math.floor(start - padding * extent))
        hi = min(float(limit), math.ceil(start + extent + padding * extent))
        return (int(lo), int(hi - lo)) if hi - lo >= 1 else None

    sx, sy = span(x, w, fw), span(y, h, fh)
    if sx is None or sy is None:
        return None
    (x0, rw0), (y0, rh0) = sx, sy
    if size * rh0 >= size * rw0:
        rw, rh = size, int(size * rh0 / rw0)
    else:
        rw, rh = int(size * rw0 / rh0), size
    rw, rh = max(rw, size), max(rh, size)
    return x0, y0, rw0, rh0, rw, rh, int(round((rw - size) / 2)), int(round((rh - size) / 2))


def classify_input(frame, box, padding=0.0, antialias=False, size=INPUT):
    """float32 [3, size, size] RGB/255 model input for `box` of an RGB uint8
    frame; antialias=False is the element's sampling exactly (OpenCV
    INTER_LINEAR semantics, half-pixel centres), True uses Pillow's
    antialiased bilinear instead (a training augmentation)."""
    fh, fw = frame.shape[:2]
    g = crop_geometry(box, padding, fw, fh, size)
    if g is None:
        return None
    x0, y0, rw0, rh0, rw, rh, ox, oy = g
    region = frame[y0:y0 + rh0, x0:x0 + rw0]
    if antialias:
        resized = np.asarray(Image.fromarray(region).resize((rw, rh), Image.BILINEAR),
                             np.float32)
    else:
        resized = resize_bilinear(region, rw, rh).astype(np.float32)
    out = resized[oy:oy + size, ox:ox + size]
    return np.ascontiguousarray(out.transpose(2, 0, 1)) / 255.0


def jpeg(img, quality):
    """JPEG round trip with 4:2:0 chroma (a stand-in for H.264 artefacts)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(quality), subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def truth_box(o):
    return (float(o["x_min"]), float(o["y_min"]),
            float(o["x_max"] - o["x_min"]), float(o["y_max"] - o["y_min"]))


def detector_box(rng, box, sigma):
    """`box` with each edge moved by N(0, sigma) of its size (clipped to
    +-3 sigma), as a detector's box differs from the truth."""
    x, y, w, h = box
    d = np.clip(rng.normal(0.0, sigma, 4), -3 * sigma, 3 * sigma)
    x0, x1 = x + d[0] * w, x + w + d[1] * w
    y0, y1 = y + d[2] * h, y + h + d[3] * h
    return (x0, y0, max(2.0, x1 - x0), max(2.0, y1 - y0))


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def render_contexts(job):
    """Renders palette scene `index` of `seed` at w x h and returns the
    objects as (context uint8 HxWx3, box (x, y, w, h) in context pixels,
    colour id).  The frame is JPEG re-encoded first on 80 % of the scenes."""
    seed, index, w, h = job
    img, objs = render.scene(seed, index, w, h, palette=True)
    rng = np.random.default_rng([seed, index, 0xC0102])
    if rng.uniform() < 0.8:
        img = jpeg(img, rng.uniform(25, 95))
    out = []
    for o in objs:
        x, y, bw, bh = truth_box(o)
        cx0 = max(0, int(math.floor(x - CONTEXT * bw)))
        cy0 = max(0, int(math.floor(y - CONTEXT * bh)))
        cx1 = min(w, int(math.ceil(x + bw + CONTEXT * bw)))
        cy1 = min(h, int(math.ceil(y + bh + CONTEXT * bh)))
        ctx = img[cy0:cy1, cx0:cx1]
        box = (x - cx0, y - cy0, bw, bh)
        scale = MAX_BOX / min(bw, bh)
        if scale < 1.0:
            nw = max(1, int(round(ctx.shape[1] * scale)))
            nh = max(1, int(round(ctx.shape[0] * scale)))
            sx, sy = nw / ctx.shape[1], nh / ctx.shape[0]
            ctx = np.asarray(Image.fromarray(ctx).resize((nw, nh), Image.BILINEAR))
            box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
        out.append((np.ascontiguousarray(ctx), box, COLOURS.index(o["colour"])))
    return out


def render_pool(seed, count, sizes, workers, cache=None):
    """The training objects of `count` scenes; kept in `cache` (a pickle) for
    the next run with the same scenes."""
    import pickle
    key = (seed, count, tuple(sizes), CONTEXT, MAX_BOX)
    if cache and os.path.exists(cache):
        with open(cache, "rb") as f:
            cached_key, items = pickle.load(f)
        if cached_key == key:
            return items
    jobs = [(seed, i, *sizes[i % len(sizes)]) for i in range(count)]
    items = []
    if workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(render_contexts, jobs, chunksize=8):
                items.extend(r)
    else:
        for j in jobs:
            items.extend(render_contexts(j))
    if cache:
        with open(cache, "wb") as f:
            pickle.dump((key, items), f, protocol=pickle.HIGHEST_PROTOCOL)
    return items


def augmented(rng, item):
    """One training input (float32 [3, 64, 64]) from a stored context."""
    ctx, box, _ = item
    if rng.uniform() < 0.25:
        ctx = jpeg(ctx, rng.uniform(30, 95))
    if rng.uniform() < 0.3:
        pil = Image.fromarray(ctx).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
        ctx = np.asarray(pil)
    sigma = 0.1 if rng.uniform() < 0.15 else rng.uniform(0.0, 0.06)
    b = detector_box(rng, box, sigma)
    padding = 0.0 if rng.uniform() < 0.5 else rng.uniform(0.0, 0.2)
    x = classify_input(ctx, b, padding, antialias=rng.uniform() < 0.5)
    if x is None:
        x = classify_input(ctx, box, 0.0)
    if rng.uniform() < 0.3:
        x = np.clip(x * rng.uniform(0.95, 1.05, size=(3, 1, 1)), 0.0, 1.0)
    if rng.uniform() < 0.5:
        x = x[:, :, ::-1]
    if rng.uniform() < 0.5:
        x = x.transpose(0, 2, 1)
    return np.ascontiguousarray(x, dtype=np.float32)


def eval_crops(seed, count, sizes, conditions):
    """Held-out inputs straight from rendered frames with the element's exact
    preprocessing, for each condition (JPEG quality or None, box jitter sigma,
    padding): a list of (inputs [N, 3, 64, 64], colour ids [N], box sizes)."""
    out = [([], [], []) for _ in conditions]
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        frame, objs = render.scene(seed, i, w, h, palette=True)
        for (xs, ys, sz), (quality, sigma, padding) in zip(out, conditions):
            img = jpeg(frame, quality) if quality else frame
            rng = np.random.default_rng([seed, i, 0xE7A1])
            for o in objs:
                box = truth_box(o)
                if sigma > 0:
                    box = detector_box(rng, box, sigma)
                x = classify_input(img, box, padding)
                if x is None:
                    continue
                xs.append(x)
                ys.append(COLOURS.index(o["colour"]))
                sz.append(max(box[2], box[3]))
    return [(np.stack(xs), np.asarray(ys), np.asarray(sz)) for xs, ys, sz in out]


# --------------------------------------------------------------------------
# Evaluation with onnxruntime (no torch)
# --------------------------------------------------------------------------

def confusion(pred, truth, n):
    m = np.zeros((n, n), np.int64)
    for p, t in zip(pred, truth):
        m[t, p] += 1
    return m


def print_confusion(m):
    w = max(len(c) for c in COLOURS)
    print(" " * (w + 2) + " ".join(f"{c[:6]:>6}" for c in COLOURS) + "   recall")
    for i, c in enumerate(COLOURS):
        row = " ".join(f"{v:6d}" for v in m[i])
        print(f"{c:>{w}}: {row}   {m[i, i] / max(1, m[i].sum()):.3f}")


def evaluate_onnx(path, seed, count, sizes, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    print(f"{path}: names {meta.get('names')}, task {meta.get('task')}, imgsz {meta.get('imgsz')}")
    results = {}
    conditions = [("rendered frames, truth boxes", None, 0.0, 0.0),
                  ("JPEG q75 4:2:0, truth boxes", 75, 0.0, 0.0),
                  ("JPEG q75, box edges jittered 5 %", 75, 0.05, 0.0),
                  ("JPEG q75, jittered 5 %, padding 0.1", 75, 0.05, 0.1)]
    sets = eval_crops(seed, count, sizes, [c[1:] for c in conditions])
    for (name, q, sigma, padding), (x, y, sz) in zip(conditions, sets):
        probs = np.concatenate([sess.run(None, {"images": x[i:i + 1]})[0] for i in range(len(x))])
        assert probs.shape == (len(x), len(COLOURS)), probs.shape
        assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4), "softmax in the graph"
        pred = probs.argmax(axis=1)
        acc = float((pred == y).mean())
        conf = probs.max(axis=1)
        cover = float((conf >= 0.5).mean())
        acc_cover = float((pred == y)[conf >= 0.5].mean()) if cover > 0 else 0.0
        small = sz < 48
        print(f"{name}: {len(y)} objects, accuracy {acc:.4f} "
              f"(objects under 48 px: {float((pred == y)[small].mean()):.4f} of {int(small.sum())}); "
              f"top-1 >= 0.5 on {cover:.4f}, accuracy there {acc_cover:.4f}")
        results[name] = acc
        if q == 75 and sigma == 0.0:
            print_confusion(confusion(pred, y, len(COLOURS)))
    return results


# --------------------------------------------------------------------------
# Model, training, export (torch)
# --------------------------------------------------------------------------

def build_model(n_classes):
    import torch.nn as nn

    def cbr(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    class ColourNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                *cbr(3, 16, 2),    # 32x32
                *cbr(16, 32, 2),   # 16x16
                *cbr(32, 48, 2),   # 8x8
                *cbr(48, 64, 2),   # 4x4
            )
            self.drop = nn.Dropout(0.1)
            self.fc = nn.Linear(64 * 4 * 4, n_classes)

        def forward(self, x):
            return self.fc(self.drop(self.features(x).flatten(1)))

    return ColourNet()


def softmaxed(model):
    """The model with a softmax on its output (as Ultralytics' Classify head
    exports it): what is exported."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return torch.softmax(self.m(x), dim=1)

    return Probabilities(model)


def export(model, path):
    import onnx
    import torch
    model.eval()
    wrapped = softmaxed(model).eval()
    tmp = path + ".tmp"
    # A dynamic batch axis: rsinfer gives all crops of a frame to it at once.
    torch.onnx.export(wrapped, torch.zeros(1, 3, INPUT, INPUT), tmp, input_names=["images"],
                      output_names=["output0"], opset_version=17, do_constant_folding=True,
                      dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
                      dynamo=False)
    m = onnx.load(tmp)
    os.remove(tmp)
    meta = {
        "description": "rsvision-colours: colour classifier of the objects of render.py "
                       "--palette scenes, for rsinfer inference-region=objects "
                       "(gst-plugin-rsvision)",
        "author": "rsvision",
        "license": "MIT OR Apache-2.0",
        "task": "classify",
        "batch": "1",
        "imgsz": str([INPUT, INPUT]),
        "names": str({i: c for i, c in enumerate(COLOURS)}),
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "gst-plugin-rsvision training/train_colours.py"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        f.write("\n".join(COLOURS) + "\n")
    model.train()


def train(a):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))
    torch.manual_seed(0)

    t0 = time.time()
    items = render_pool(TRAIN_SEED, a.scenes, SIZES, a.workers, a.cache)
    counts = np.bincount([c for _, _, c in items], minlength=len(COLOURS))
    print(f"{len(items)} objects from {a.scenes} scenes in {time.time() - t0:.0f} s; "
          f"per colour: {dict(zip(COLOURS, counts.tolist()))}", flush=True)
    [(check_x, check_y, _)] = eval_crops(CHECK_SEED, 150, [(640, 480), (1280, 720)],
                                         [(75, 0.04, 0.0)])
    check_x = torch.from_numpy(check_x)

    class Data(torch.utils.data.Dataset):
        calls = 0

        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            # deterministic for a given worker count: torch seeds each worker
            # from the main generator (torch.manual_seed above); `calls` makes
            # each epoch draw new augmentations
            self.calls += 1
            rng = np.random.default_rng([torch.initial_seed() % 2**32, i, self.calls])
            return torch.from_numpy(augmented(rng, items[i])), items[i][2]

    loader = torch.utils.data.DataLoader(Data(), batch_size=a.batch, shuffle=True,
                                         num_workers=a.loader_workers, drop_last=True,
                                         persistent_workers=a.loader_workers > 0)
    model = build_model(len(COLOURS))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    steps_per_epoch = len(loader)
    total = a.epochs * steps_per_epoch
    warm = min(200, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else
        0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    step = 0
    t1 = time.time()
    for epoch in range(a.epochs):
        model.train()
        seen, correct, loss_sum = 0, 0, 0.0
        for x, y in loader:
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=0.02)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            seen += len(y)
            correct += int((out.argmax(1) == y).sum())
            loss_sum += loss.item() * len(y)
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(check_x[i:i + 256]) for i in range(0, len(check_x), 256)]).argmax(1)
        check = float((pred.numpy() == check_y).mean())
        print(f"epoch {epoch + 1}/{a.epochs} step {step}: loss {loss_sum / max(1, seen):.4f} "
              f"train acc {correct / max(1, seen):.4f} check acc {check:.4f} ({len(check_y)} crops, "
              f"seed {CHECK_SEED}) {time.time() - t1:.0f} s", flush=True)
    train_s = time.time() - t1
    print(f"training: {train_s:.0f} s ({step} steps of {a.batch}); rendering {t1 - t0:.0f} s")
    export(model, a.out)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes, {n_params} parameters)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=4000, help="training scenes rendered")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--workers", type=int, default=2, help="processes rendering the scenes")
    ap.add_argument("--loader-workers", type=int, default=1,
                    help="processes augmenting the crops while training")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--cache", default="/tmp/rsvision-colours-pool.pkl",
                    help="rendered training objects, reused by the next run ('' for none)")
    ap.add_argument("--evaluate", action="store_true",
                    help="only evaluate --out with onnxruntime (no torch needed)")
    ap.add_argument("--eval-count", type=int, default=400,
                    help="held-out scenes (seed 2100000), half 640x480, half 1280x720")
    a = ap.parse_args()
    if not a.evaluate:
        train(a)
    evaluate_onnx(a.out, EVAL_SEED, a.eval_count, [(640, 480), (1280, 720)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
