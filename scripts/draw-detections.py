#!/usr/bin/env python3
"""Draws the detections rsinfer attached to one frame (from the demo's JSON lines) on that
frame, for the README picture. Uses gst-launch-1.0 to decode and Pillow to draw.

    python scripts/draw-detections.py [--video data/sample-shapes.mp4]
        [--detections out/detections.jsonl] [--frame 90] [--out docs/demo-detections.png]
        [--size 640x480]
"""
import argparse
import json
import os
import subprocess
import tempfile

from PIL import Image, ImageDraw

PALETTE = [(255, 56, 56), (255, 157, 151), (255, 112, 31), (255, 178, 29), (207, 210, 49),
           (72, 249, 10), (146, 204, 23), (61, 219, 134), (26, 147, 52), (0, 212, 187)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", default="data/sample-shapes.mp4")
    ap.add_argument("--detections", default="out/detections.jsonl")
    ap.add_argument("--frame", type=int, default=90)
    ap.add_argument("--out", default="docs/demo-detections.png")
    ap.add_argument("--size", default="640x480", help="the video's frame size")
    a = ap.parse_args()

    frames = [json.loads(line) for line in open(a.detections)]
    record = next(f for f in frames if f["frame"] == a.frame)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "frames.rgb")
        subprocess.run(
            ["gst-launch-1.0", "-q", "filesrc", f"location={a.video}", "!", "decodebin", "!",
             "videoconvert", "!", "videoscale", "!",
             f"video/x-raw,format=RGB,width={a.size.split('x')[0]},height={a.size.split('x')[1]}", "!", "identity",
             f"eos-after={a.frame + 2}", "!", "filesink", f"location={raw}"],
            check=True)
        w, h = (int(v) for v in a.size.split("x"))
        data = open(raw, "rb").read()
        stride = (w * 3 + 3) // 4 * 4
        frame = data[a.frame * stride * h:(a.frame + 1) * stride * h]
        img = Image.frombytes("RGB", (w, h), frame, "raw", "RGB", stride)
    draw = ImageDraw.Draw(img)
    for d in record["detections"]:
        c = PALETTE[d["label_id"] % len(PALETTE)]
        x0, y0 = d["x"], d["y"]
        x1, y1 = x0 + d["width"], y0 + d["height"]
        draw.rectangle([x0, y0, x1, y1], outline=c, width=2)
        text = f"{d['label']} {d['confidence']:.2f}"
        tw = draw.textlength(text)
        ty = y0 - 12 if y0 >= 12 else y0
        draw.rectangle([x0, ty, x0 + tw + 4, ty + 12], fill=c)
        draw.text((x0 + 2, ty), text, fill=(0, 0, 0))
    img.save(a.out)
    print(f"wrote {a.out} (frame {a.frame}, {len(record['detections'])} detections)")


if __name__ == "__main__":
    main()
