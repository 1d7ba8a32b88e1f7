"""Bring the fingerprints stored in committed scores files up to `model_fingerprint`'s current scheme.

For every `*.safetensors` under runs/ (or the folders given), the stored fingerprint is checked against each known model
that is installed here, loaded in the dtype the scores record (`same_model`: today's scheme, or the first scheme under
any transformers release). A file whose weights match gets today's fingerprint written into its metadata; its tensors
are copied unchanged (checked), and the file is replaced atomically. Files of models not installed here are listed,
untouched. Run from the repository root: `python tools/refingerprint.py [folder ...]`.
"""
import json, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file, safe_open
from cap_nb.models import KNOWN_MODELS, load_model, model_fingerprint, same_model, write_atomic, as_dtype, dtype_name

torch.set_num_threads(2)
folders = [Path(a) for a in sys.argv[1:]] or [Path("runs")]
files = sorted(f for d in folders for f in d.glob("**/*.safetensors"))
models = {}

def candidates(dtype):
    "Every known model installed here, loaded (once) in `dtype`"
    for name in KNOWN_MODELS:
        if (name, dtype) not in models:
            try: models[name, dtype] = load_model(name, dtype=dtype, device="cpu")[0]
            except (FileNotFoundError, ValueError) as e: print(f"  {name} not available here: {e}"); models[name, dtype] = None
        if models[name, dtype] is not None: yield name, models[name, dtype]

fps = {}
for f in files:
    with safe_open(str(f), "pt") as s: meta = s.metadata() or {}
    if "fingerprint" not in meta: print(f"{f}: no fingerprint, skipped"); continue
    dtype = dtype_name(getattr(torch, json.loads(meta["settings"]).get("dtype", "torch.float32").removeprefix("torch.")))
    hit = None
    for name, m in candidates(dtype):
        if (name, dtype) not in fps: fps[name, dtype] = model_fingerprint(m)
        if meta["fingerprint"] == fps[name, dtype]: hit = (name, "current"); break
        if same_model(m, meta["fingerprint"]): hit = (name, "updated"); break
    if hit is None: print(f"{f}: {meta['fingerprint']} ({dtype}) names no model installed here; left as it is"); continue
    name, what = hit
    if what == "updated":
        t = load_file(str(f)); new = dict(meta, fingerprint=fps[name, dtype])
        write_atomic(f, lambda tmp: save_file(t, tmp, metadata=new))
        assert all(torch.equal(t[k], v) for k, v in load_file(str(f)).items())
    print(f"{f}: {name} {dtype}: {meta['fingerprint']} -> {fps[name, dtype]} ({what})")
