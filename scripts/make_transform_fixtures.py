"""torchvision (0.14, Debian python3-torchvision) outputs for vireo's transform tests.

Writes tests/fixtures/transforms.json: one input image (uint8, 3 x 13 x 17, deterministic pattern) and,
for each case, the functional call and torchvision's output on the uint8 tensor and on its float
version (x / 255). Run: /usr/bin/python3 scripts/make_transform_fixtures.py
"""
import json
import os

import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

H, W = 13, 17
g = torch.Generator().manual_seed(7)
img = torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8)
# A smooth ramp on channel 0 so interpolation errors show, noise elsewhere.
ramp = (torch.arange(H).view(H, 1) * 9 + torch.arange(W).view(1, W) * 5).clamp(0, 255).to(torch.uint8)
img[0] = ramp
NEAREST, BILINEAR = InterpolationMode.NEAREST, InterpolationMode.BILINEAR

cases = []


def add(name, op, args, fn):
    for kind, x in (("uint8", img), ("float", img.float() / 255)):
        y = fn(x)
        cases.append({"name": name, "op": op, "args": args, "input": kind, "shape": list(y.shape), "values": y.float().flatten().tolist()})


for size in ([29, 23], [6, 5], [13, 40], [4, 9]):
    add(f"resize {size}", "resize", {"size": size}, lambda x, s=size: F.resize(x, s, antialias=False))
add("resized_crop 2,3,8x10 -> 19x7", "resized_crop", {"top": 2, "left": 3, "height": 8, "width": 10, "size": [19, 7]},
    lambda x: F.resized_crop(x, 2, 3, 8, 10, [19, 7], antialias=False))
for angle in (20.0, -33.5, 90.0, 7.25):
    for mode, interp in (("nearest", NEAREST), ("bilinear", BILINEAR)):
        add(f"rotate {angle} {mode}", "rotate", {"angle": angle, "interpolation": mode},
            lambda x, a=angle, i=interp: F.rotate(x, a, interpolation=i, fill=[0.0, 0.0, 0.0]))
for angle, translate, scale, shear in ((15.0, [2, -1], 1.2, [0.0, 0.0]), (-40.0, [0, 3], 0.8, [10.0, 0.0]), (0.0, [-4, 2], 1.0, [0.0, 0.0])):
    for mode, interp in (("nearest", NEAREST), ("bilinear", BILINEAR)):
        add(f"affine {angle} {translate} {scale} {shear} {mode}", "affine",
            {"angle": angle, "translate": translate, "scale": scale, "shear": shear, "interpolation": mode},
            lambda x, a=angle, t=translate, s=scale, sh=shear, i=interp: F.affine(x, a, t, s, sh, interpolation=i, fill=[0.0, 0.0, 0.0]))
add("hflip", "hflip", {}, F.hflip)
add("vflip", "vflip", {}, F.vflip)
add("center_crop 7x20", "center_crop", {"size": [7, 20]}, lambda x: F.center_crop(x, [7, 20]))
add("brightness 1.3", "brightness", {"factor": 1.3}, lambda x: F.adjust_brightness(x, 1.3))
add("contrast 0.6", "contrast", {"factor": 0.6}, lambda x: F.adjust_contrast(x, 0.6))
cases.append({"name": "normalize", "op": "normalize", "args": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, "input": "float",
              "shape": [3, H, W], "values": F.normalize(img.float() / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).flatten().tolist()})

out = {
    "generator": f"scripts/make_transform_fixtures.py, torch {torch.__version__}, torchvision {torchvision.__version__}",
    "input": {"shape": [3, H, W], "values": img.flatten().tolist()},
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "transforms.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
