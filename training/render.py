#!/usr/bin/env python3
"""Synthetic shape-scene renderer for the rsvision-shapes detector.

Uses only numpy and Pillow (no torch), so tests and CI can run it.

Classes are *shapes* (colour is random): see LABELS.  Each scene is a
background (gradient / noise / stripes / checker / flat, plus soft blobs and
thin lines as clutter) with a few anti-aliased filled shapes on top.  Ground
truth boxes are the *visible* extent of each shape (occlusion by later shapes
and the frame border are taken into account), in pixels, with x_max/y_max
being exclusive pixel edges (x_max = last visible column + 1).

CLI:
  render.py scenes --seed S --count N --width W --height H --out DIR [--palette]
      -> DIR/frames.rgb (N raw RGB24 frames) and DIR/truth.json
  render.py video --seed S --frames N --width W --height H --fps F \
                  --out FILE.rgb [--truth FILE.json] [--palette]
      -> one continuous scene, shapes bounce around (and off each other)

--palette (and palette=True in the importable functions): every shape is
painted one of the named colours of PALETTE (with a small jitter) instead of
a random colour, and each truth object gets a `colour` field (the name), for
the colour classifier (train_colours.py).  Without it the output is the same,
byte for byte, as before the palette mode existed.

Everything is deterministic given the seed (scene i of `scenes` only depends
on (seed, i), not on the count).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LABELS = ["circle", "square", "triangle", "star", "cross", "ring"]

SUPERSAMPLE = 4
# Visible fraction an object must keep (after occlusion and frame clipping)
MIN_VISIBLE = 0.75
# Object size range as a fraction of the frame's longer side
# (32..200 px in a 640x480 frame, i.e. 16..100 px in the 320x320 model input)
SIZE_MIN_FRAC = 32.0 / 640.0
SIZE_MAX_FRAC = 200.0 / 640.0

# Palette mode: named colours far apart in hue (22-81 degrees between
# neighbours, orange-yellow the closest) or in lightness (white, black), so a
# small classifier tells them apart under shading, chroma subsampling and
# blur.  Order = class ids of the colour classifier (train_colours.py).
PALETTE = [
    ("red", (215, 35, 35)),
    ("orange", (245, 135, 20)),
    ("yellow", (240, 215, 35)),
    ("green", (40, 165, 60)),
    ("cyan", (35, 195, 215)),
    ("blue", (35, 70, 210)),
    ("purple", (145, 55, 195)),
    ("white", (240, 240, 240)),
    ("black", (25, 25, 25)),
]
COLOURS = [name for name, _ in PALETTE]
# Per-channel jitter of a palette colour (uniform, +-)
PALETTE_JITTER = 12.0


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------

def _rot(points, angle):
    c, s = math.cos(angle), math.sin(angle)
    return [(x * c - y * s, x * s + y * c) for x, y in points]


def shape_alpha(label, size, angle, rng_params):
    """Render an anti-aliased coverage mask (float32 0..1) for a shape.

    `size` is the nominal diameter in pixels.  Returns (alpha, offset) where
    alpha is a square patch and offset is the patch position of the shape
    centre (so the patch's top-left is centre - offset).
    """
    pad = 2
    n = int(math.ceil(size)) + 2 * pad
    ss = SUPERSAMPLE
    img = Image.new("L", (n * ss, n * ss), 0)
    d = ImageDraw.Draw(img)
    c = n * ss / 2.0
    r = size * ss / 2.0

    def poly(pts):
        d.polygon([(c + x, c + y) for x, y in _rot(pts, angle)], fill=255)

    if label == "circle":
        d.ellipse([c - r, c - r, c + r, c + r], fill=255)
    elif label == "ring":
        inner = r * rng_params["ring_inner"]
        d.ellipse([c - r, c - r, c + r, c + r], fill=255)
        d.ellipse([c - inner, c - inner, c + inner, c + inner], fill=0)
    elif label == "square":
        h = r / math.sqrt(2.0) * rng_params["square_fill"]
        poly([(-h, -h), (h, -h), (h, h), (-h, h)])
    elif label == "triangle":
        pts = [(r * math.cos(a), r * math.sin(a))
               for a in (-math.pi / 2, -math.pi / 2 + 2 * math.pi / 3,
                         -math.pi / 2 + 4 * math.pi / 3)]
        poly(pts)
    elif label == "star":
        inner = r * rng_params["star_inner"]
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = r if k % 2 == 0 else inner
            pts.append((rr * math.cos(a), rr * math.sin(a)))
        poly(pts)
    elif label == "cross":
        # plus sign: two bars, arm half-width w
        w = r * rng_params["cross_width"]
        h = r * 0.92
        poly([(-w, -h), (w, -h), (w, -w), (h, -w), (h, w), (w, w),
              (w, h), (-w, h), (-w, w), (-h, w), (-h, -w), (-w, -w)])
    else:
        raise ValueError(label)
    img = img.resize((n, n), Image.BOX)
    alpha = np.asarray(img, dtype=np.float32) / 255.0
    return alpha, n / 2.0


def random_shape_params(rng):
    return {
        "ring_inner": float(rng.uniform(0.45, 0.65)),
        "square_fill": float(rng.uniform(0.95, 1.0)),
        "star_inner": float(rng.uniform(0.38, 0.5)),
        "cross_width": float(rng.uniform(0.2, 0.3)),
    }


# --------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------

def _rand_colour(rng):
    return rng.uniform(0, 255, size=3).astype(np.float32)


def _smooth_noise(rng, w, h, cells):
    gw, gh = max(2, int(cells * w / max(w, h)) + 2), max(2, int(cells * h / max(w, h)) + 2)
    g = (rng.uniform(0, 255, size=(gh, gw))).astype(np.uint8)
    im = Image.fromarray(g, "L").resize((w, h), Image.BICUBIC)
    return np.asarray(im, dtype=np.float32) / 255.0


def render_background(rng, w, h):
    kind = rng.choice(["linear", "radial", "noise", "stripes", "checker", "flat"],
                      p=[0.22, 0.13, 0.22, 0.18, 0.1, 0.15])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c1, c2 = _rand_colour(rng), _rand_colour(rng)
    if kind == "linear":
        a = rng.uniform(0, 2 * math.pi)
        t = (xx * math.cos(a) + yy * math.sin(a))
        t = (t - t.min()) / max(1e-6, t.max() - t.min())
    elif kind == "radial":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        t = t / max(1e-6, t.max())
    elif kind == "noise":
        t = _smooth_noise(rng, w, h, rng.uniform(3, 12))
    elif kind == "stripes":
        a = rng.uniform(0, math.pi)
        period = rng.uniform(0.02, 0.15) * max(w, h)
        ph = (xx * math.cos(a) + yy * math.sin(a)) / period
        if rng.uniform() < 0.5:
            t = 0.5 + 0.5 * np.sin(2 * math.pi * ph)
        else:
            t = (np.floor(ph) % 2).astype(np.float32)
        # keep stripes moderately contrasted
        c2 = c1 + (c2 - c1) * rng.uniform(0.25, 0.7)
    elif kind == "checker":
        cell = rng.uniform(0.03, 0.12) * max(w, h)
        t = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2).astype(np.float32)
        c2 = c1 + (c2 - c1) * rng.uniform(0.2, 0.5)
    else:
        t = np.zeros((h, w), np.float32)
    img = c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]

    # clutter: soft blurred blobs
    n_blobs = int(rng.integers(0, 6))
    if n_blobs:
        layer = Image.new("RGB", (w, h), (0, 0, 0))
        mask = Image.new("L", (w, h), 0)
        dl, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
        for _ in range(n_blobs):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            rx, ry = rng.uniform(0.03, 0.2) * max(w, h), rng.uniform(0.03, 0.2) * max(w, h)
            col = tuple(int(v) for v in rng.integers(0, 256, 3))
            box = [cx - rx, cy - ry, cx + rx, cy + ry]
            dl.ellipse(box, fill=col)
            dm.ellipse(box, fill=int(rng.integers(60, 160)))
        blur = max(w, h) * rng.uniform(0.02, 0.05)
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
        m = np.asarray(mask, np.float32)[..., None] / 255.0
        img = img * (1 - m) + np.asarray(layer, np.float32) * m
    # clutter: thin lines / curves
    n_lines = int(rng.integers(0, 6))
    if n_lines:
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(pil)
        for _ in range(n_lines):
            pts = [(float(rng.uniform(-0.1, 1.1) * w), float(rng.uniform(-0.1, 1.1) * h))
                   for _ in range(int(rng.integers(2, 5)))]
            col = tuple(int(v) for v in rng.integers(0, 256, 3))
            d.line(pts, fill=col, width=int(rng.integers(1, 3)))
        img = np.asarray(pil, np.float32)
    # pixel noise
    sigma = rng.choice([0.0, 2.0, 5.0, 9.0], p=[0.3, 0.3, 0.25, 0.15])
    if sigma > 0:
        img = img + rng.normal(0, sigma, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.float32)


# --------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------

class Obj:
    """A placed shape: alpha patch at integer top-left (x0, y0)."""

    def __init__(self, label_id, alpha, x0, y0, colour, colour_name=None):
        self.label_id = label_id
        self.alpha = alpha
        self.x0, self.y0 = x0, y0
        self.colour = colour
        # palette mode: the PALETTE name (written to the truth); None otherwise
        self.colour_name = colour_name
        self.full_area = float(alpha.sum())

    @property
    def x1(self):
        return self.x0 + self.alpha.shape[1]

    @property
    def y1(self):
        return self.y0 + self.alpha.shape[0]


def _background_mean(bg, obj_alpha, x0, y0):
    h, w = bg.shape[:2]
    ys, ye = max(0, y0), min(h, y0 + obj_alpha.shape[0])
    xs, xe = max(0, x0), min(w, x0 + obj_alpha.shape[1])
    region = bg[ys:ye, xs:xe].reshape(-1, 3)
    return region.mean(axis=0) if len(region) else np.full(3, 128, np.float32)


def _object_colour(rng, bg, obj_alpha, x0, y0):
    """Random colour that contrasts with the background under the object."""
    mean = _background_mean(bg, obj_alpha, x0, y0)
    best, best_d = None, -1.0
    for _ in range(12):
        col = rng.uniform(0, 255, size=3).astype(np.float32)
        dist = float(np.linalg.norm(col - mean))
        luma = abs(float(np.dot(col - mean, [0.299, 0.587, 0.114])))
        score = dist + luma
        if dist > 110 and luma > 35:
            return col
        if score > best_d:
            best, best_d = col, score
    return best


def _palette_colour(rng, bg, obj_alpha, x0, y0):
    """Palette mode: (colour, name) of a random PALETTE entry, jittered, that
    contrasts with the background under the object (same rule as
    _object_colour: up to 12 draws, else the most contrasted one)."""
    mean = _background_mean(bg, obj_alpha, x0, y0)
    best, best_d = None, -1.0
    for _ in range(12):
        k = int(rng.integers(0, len(PALETTE)))
        base = np.asarray(PALETTE[k][1], np.float32)
        col = np.clip(base + rng.uniform(-PALETTE_JITTER, PALETTE_JITTER, size=3),
                      0, 255).astype(np.float32)
        dist = float(np.linalg.norm(col - mean))
        luma = abs(float(np.dot(col - mean, [0.299, 0.587, 0.114])))
        score = dist + luma
        if dist > 110 and luma > 35:
            return col, PALETTE[k][0]
        if score > best_d:
            best, best_d = (col, PALETTE[k][0]), score
    return best


def _visible_alpha(objs, idx, w, h):
    """Visible alpha of objs[idx] in frame coords, clipped: returns
    (patch, x0, y0) where patch is clipped to the frame."""
    o = objs[idx]
    xs, ys = max(0, o.x0), max(0, o.y0)
    xe, ye = min(w, o.x1), min(h, o.y1)
    if xe <= xs or ye <= ys:
        return None, xs, ys
    vis = o.alpha[ys - o.y0:ye - o.y0, xs - o.x0:xe - o.x0].copy()
    for p in objs[idx + 1:]:
        ixs, iys = max(xs, p.x0), max(ys, p.y0)
        ixe, iye = min(xe, p.x1), min(ye, p.y1)
        if ixe <= ixs or iye <= iys:
            continue
        vis[iys - ys:iye - ys, ixs - xs:ixe - xs] *= \
            (1.0 - p.alpha[iys - p.y0:iye - p.y0, ixs - p.x0:ixe - p.x0])
    return vis, xs, ys


def _box_of(vis, xs, ys):
    m = vis > 0.5
    if not m.any():
        return None
    rows = np.where(m.any(axis=1))[0]
    cols = np.where(m.any(axis=0))[0]
    return (int(xs + cols[0]), int(ys + rows[0]), int(xs + cols[-1] + 1), int(ys + rows[-1] + 1))


def composite(bg, objs, rng=None):
    img = bg.copy()
    h, w = img.shape[:2]
    for o in objs:
        xs, ys = max(0, o.x0), max(0, o.y0)
        xe, ye = min(w, o.x1), min(h, o.y1)
        if xe <= xs or ye <= ys:
            continue
        a = o.alpha[ys - o.y0:ye - o.y0, xs - o.x0:xe - o.x0][..., None]
        col = o.colour[None, None, :]
        if rng is not None and rng.uniform() < 0.5:
            # gentle shading across the object
            gy = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.15),
                             ye - ys, dtype=np.float32)[:, None, None]
            col = np.clip(col * gy, 0, 255)
        img[ys:ye, xs:xe] = img[ys:ye, xs:xe] * (1 - a) + col * a
    return img


def truth_of(objs, w, h):
    out = []
    for i, o in enumerate(objs):
        vis, xs, ys = _visible_alpha(objs, i, w, h)
        if vis is None:
            continue
        box = _box_of(vis, xs, ys)
        if box is None:
            continue
        t = {"label": LABELS[o.label_id], "label_id": o.label_id,
             "x_min": box[0], "y_min": box[1], "x_max": box[2], "y_max": box[3]}
        if o.colour_name is not None:
            t["colour"] = o.colour_name
        out.append(t)
    return out


def render_scene(rng, w, h, max_objects=8, palette=False):
    """Render one independent scene. Returns (uint8 HxWx3 array, objects).

    palette: colours from PALETTE, named in the truth (`colour`)."""
    bg = render_background(rng, w, h)
    n = int(rng.integers(1, max_objects + 1))
    long_side = max(w, h)
    objs = []
    for _ in range(n):
        label_id = int(rng.integers(0, len(LABELS)))
        params = random_shape_params(rng)
        for _attempt in range(25):
            size = math.exp(rng.uniform(math.log(SIZE_MIN_FRAC * long_side),
                                        math.log(SIZE_MAX_FRAC * long_side)))
            size = min(size, 0.95 * min(w, h))
            angle = rng.uniform(0, 2 * math.pi)
            alpha, off = shape_alpha(LABELS[label_id], size, angle, params)
            cx = rng.uniform(-0.15 * size, w + 0.15 * size)
            cy = rng.uniform(-0.15 * size, h + 0.15 * size)
            x0, y0 = int(round(cx - off)), int(round(cy - off))
            cand = Obj(label_id, alpha, x0, y0, None)
            trial = objs + [cand]
            ok = True
            for i in range(len(trial)):
                vis, _, _ = _visible_alpha(trial, i, w, h)
                if vis is None or vis.sum() < MIN_VISIBLE * trial[i].full_area:
                    ok = False
                    break
            if ok:
                if palette:
                    cand.colour, cand.colour_name = _palette_colour(rng, bg, alpha, x0, y0)
                else:
                    cand.colour = _object_colour(rng, bg, alpha, x0, y0)
                objs.append(cand)
                break
    img = composite(bg, objs, rng)
    if rng.uniform() < 0.3:
        img = img + rng.normal(0, rng.uniform(1, 6), size=img.shape).astype(np.float32)
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return img, truth_of(objs, w, h)


def scene(seed, index, w, h, palette=False):
    """Scene `index` of the stream for `seed` (independent of count)."""
    rng = np.random.default_rng([int(seed), int(index), 0x5EED])
    return render_scene(rng, w, h, palette=palette)


# --------------------------------------------------------------------------
# Video: bouncing shapes
# --------------------------------------------------------------------------

def render_video(seed, frames, w, h, fps, n_objects=None, palette=False):
    """Generator yielding (uint8 frame, objects) for a smooth bouncing scene.

    Shapes stay fully inside the frame and bounce off the borders and off
    each other (treated as discs), so there is no occlusion: every object is
    always fully visible.  palette: colours from PALETTE, named in the truth.
    """
    rng = np.random.default_rng([int(seed), 0xB0B])
    bg = render_background(rng, w, h)
    # keep the demo background calm-ish: no extra pixel noise
    long_side = max(w, h)
    if n_objects is None:
        n_objects = len(LABELS) + 2
    bodies = []
    for k in range(n_objects):
        label_id = k % len(LABELS)
        params = random_shape_params(rng)
        for _attempt in range(200):
            size = float(rng.uniform(0.06, 0.22) * long_side)
            r = size / 2 + 3
            x = rng.uniform(r, w - r)
            y = rng.uniform(r, h - r)
            if all((x - b["x"]) ** 2 + (y - b["y"]) ** 2 > (r + b["r"] + 4) ** 2 for b in bodies):
                break
        speed = rng.uniform(0.1, 0.35) * long_side  # px per second
        a = rng.uniform(0, 2 * math.pi)
        colour = None
        bodies.append({"label_id": label_id, "params": params, "size": size, "r": r,
                       "x": x, "y": y, "vx": speed * math.cos(a), "vy": speed * math.sin(a),
                       "angle": rng.uniform(0, 2 * math.pi),
                       "spin": rng.uniform(-1.0, 1.0) if LABELS[label_id] not in ("circle", "ring") else 0.0,
                       "colour": colour})
    for b in bodies:
        alpha, off = shape_alpha(LABELS[b["label_id"]], b["size"], b["angle"], b["params"])
        if palette:
            b["colour"], b["colour_name"] = _palette_colour(
                rng, bg, alpha, int(b["x"] - off), int(b["y"] - off))
        else:
            b["colour"] = _object_colour(rng, bg, alpha, int(b["x"] - off), int(b["y"] - off))
    dt = 1.0 / fps
    substeps = 4
    for _f in range(frames):
        objs = []
        for b in bodies:
            alpha, off = shape_alpha(LABELS[b["label_id"]], b["size"], b["angle"], b["params"])
            x0, y0 = int(round(b["x"] - off)), int(round(b["y"] - off))
            objs.append(Obj(b["label_id"], alpha, x0, y0, b["colour"], b.get("colour_name")))
        img = np.clip(composite(bg, objs) + 0.5, 0, 255).astype(np.uint8)
        yield img, truth_of(objs, w, h)
        # advance physics
        for _s in range(substeps):
            h_dt = dt / substeps
            for b in bodies:
                b["x"] += b["vx"] * h_dt
                b["y"] += b["vy"] * h_dt
                b["angle"] += b["spin"] * h_dt
                if b["x"] < b["r"]:
                    b["x"], b["vx"] = b["r"], abs(b["vx"])
                if b["x"] > w - b["r"]:
                    b["x"], b["vx"] = w - b["r"], -abs(b["vx"])
                if b["y"] < b["r"]:
                    b["y"], b["vy"] = b["r"], abs(b["vy"])
                if b["y"] > h - b["r"]:
                    b["y"], b["vy"] = h - b["r"], -abs(b["vy"])
            for i in range(len(bodies)):
                for j in range(i + 1, len(bodies)):
                    p, q = bodies[i], bodies[j]
                    dx, dy = q["x"] - p["x"], q["y"] - p["y"]
                    dist = math.hypot(dx, dy)
                    mind = p["r"] + q["r"]
                    if 0 < dist < mind:
                        nx, ny = dx / dist, dy / dist
                        overlap = (mind - dist) / 2
                        p["x"] -= nx * overlap
                        p["y"] -= ny * overlap
                        q["x"] += nx * overlap
                        q["y"] += ny * overlap
                        # equal-mass elastic collision along the normal
                        vp = p["vx"] * nx + p["vy"] * ny
                        vq = q["vx"] * nx + q["vy"] * ny
                        if vp - vq > 0:
                            p["vx"] += (vq - vp) * nx
                            p["vy"] += (vq - vp) * ny
                            q["vx"] += (vp - vq) * nx
                            q["vy"] += (vp - vq) * ny


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _write_truth(path, w, h, frames_truth, extra=None):
    doc = {"width": w, "height": h, "labels": LABELS}
    if extra:
        doc.update(extra)
    doc["frames"] = [{"objects": objs} for objs in frames_truth]
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("scenes", help="independent random scenes")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--width", type=int, default=640)
    s.add_argument("--height", type=int, default=480)
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--palette", action="store_true",
                   help="named PALETTE colours, with a `colour` per truth object")
    v = sub.add_parser("video", help="continuous bouncing-shapes scene")
    v.add_argument("--seed", type=int, required=True)
    v.add_argument("--frames", type=int, required=True)
    v.add_argument("--width", type=int, default=640)
    v.add_argument("--height", type=int, default=480)
    v.add_argument("--fps", type=float, default=30.0)
    v.add_argument("--out", required=True, help="output raw RGB24 file")
    v.add_argument("--truth", help="output truth JSON")
    v.add_argument("--palette", action="store_true",
                   help="named PALETTE colours, with a `colour` per truth object")
    a = ap.parse_args(argv)

    if a.mode == "scenes":
        os.makedirs(a.out, exist_ok=True)
        truths = []
        with open(os.path.join(a.out, "frames.rgb"), "wb") as f:
            for i in range(a.count):
                img, objs = scene(a.seed, i, a.width, a.height, palette=a.palette)
                f.write(img.tobytes())
                truths.append(objs)
        extra = {"seed": a.seed}
        if a.palette:
            extra["colours"] = COLOURS
        _write_truth(os.path.join(a.out, "truth.json"), a.width, a.height, truths, extra)
    else:
        truths = []
        d = os.path.dirname(os.path.abspath(a.out))
        os.makedirs(d, exist_ok=True)
        with open(a.out, "wb") as f:
            for img, objs in render_video(a.seed, a.frames, a.width, a.height, a.fps,
                                          palette=a.palette):
                f.write(img.tobytes())
                truths.append(objs)
        if a.truth:
            extra = {"seed": a.seed, "fps": a.fps}
            if a.palette:
                extra["colours"] = COLOURS
            _write_truth(a.truth, a.width, a.height, truths, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
