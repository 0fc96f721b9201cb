#!/usr/bin/env python3
"""The PyTorch side of the attribution benchmark (server/bench/ModelVis.Bench AttributionReport).

Integrated gradients of logit[position, target] with respect to the token-embedding rows, as
fixtures/README-interp.md (section A) defines it, written the usual PyTorch way (as Captum's IntegratedGradients
does with its default internal batch): the m scaled inputs e' + alpha_k (e - e'), alpha_k = (k + 0.5)/m, go through
the model as one batch (or batches of --batch) with autograd, the target logits are summed, one backward gives every
step's gradient. Baseline e' = 0; positions are added after; weights (and the tied unembedding) are constants.
The model is the engine benchmark's GPT-2 (bench/engine/torch_forward.py) weights, batched here.
Prints one JSON line: {"times": [...], "scores": [...], "sum": ..., "difference": ...}.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
from torch_forward import load_safetensors, torch  # noqa: E402  (exits 3 when PyTorch is missing)
import torch.nn.functional as F  # noqa: E402


class Gpt2FromEmbeddings:
    """GPT-2 (tied head) from the token rows e [B, n, d]: logits[b, position, target] for each of the B passes."""

    def __init__(self, cfg, w):
        self.w, self.d, self.H, self.L = w, cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        for t in w.values():
            t.requires_grad_(False)

    def __call__(self, e, position, target):
        w, d, H = self.w, self.d, self.H
        B, n, _ = e.shape
        h = e + w["transformer.wpe.weight"][:n]
        mask = torch.triu(torch.full((n, n), torch.finfo(e.dtype).min), diagonal=1)
        for i in range(self.L):
            p = f"transformer.h.{i}."
            a = F.layer_norm(h, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.matmul(a, w[p + "attn.c_attn.weight"]) + w[p + "attn.c_attn.bias"]
            q, k, v = (t.view(B, n, H, d // H).transpose(1, 2) for t in qkv.split(d, dim=2))
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // H)
            ctx = torch.matmul(F.softmax(s + mask, dim=-1), v).transpose(1, 2).reshape(B, n, d)
            h = h + torch.matmul(ctx, w[p + "attn.c_proj.weight"]) + w[p + "attn.c_proj.bias"]
            m = F.layer_norm(h, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            m = F.gelu(torch.matmul(m, w[p + "mlp.c_fc.weight"]) + w[p + "mlp.c_fc.bias"], approximate="tanh")
            h = h + torch.matmul(m, w[p + "mlp.c_proj.weight"]) + w[p + "mlp.c_proj.bias"]
        x = F.layer_norm(h[:, position], (d,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], self.eps)
        return x @ w["transformer.wte.weight"][target]


def integrated_gradients(model, e, position, target, steps, batch):
    """IG_i = sum_d e_i[d] * mean_k grad f(alpha_k e)[i, d], and f(e), f(0)."""
    total = torch.zeros_like(e)
    for k0 in range(0, steps, batch):
        alphas = (torch.arange(k0, min(steps, k0 + batch), dtype=e.dtype) + 0.5) / steps
        x = (alphas[:, None, None] * e[None]).requires_grad_(True)
        model(x, position, target).sum().backward()
        total += x.grad.sum(0)
    scores = (e * total / steps).sum(-1)
    with torch.no_grad():
        ends = model(torch.stack([e, torch.zeros_like(e)]), position, target)
    return scores, float(ends[0]), float(ends[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True, help="token ids, comma-separated")
    ap.add_argument("--position", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64, help="steps per batch (Captum's internal_batch_size)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    if cfg["model_type"] != "gpt2":
        raise SystemExit(f"model_type {cfg['model_type']}: this benchmark runs GPT-2")
    w = load_safetensors(f"{a.model}/model.safetensors")
    model = Gpt2FromEmbeddings(cfg, w)
    ids = torch.tensor([int(x) for x in a.ids.split(",")])
    e = w["transformer.wte.weight"][ids].clone()
    integrated_gradients(model, e, a.position, a.target, 2, a.batch)  # warm up
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        scores, fx, f0 = integrated_gradients(model, e, a.position, a.target, a.steps, a.batch)
        times.append(time.perf_counter() - t)
    print(json.dumps({"times": times, "scores": scores.tolist(), "sum": float(scores.sum()), "difference": fx - f0,
                      "target_value": fx, "baseline_value": f0, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
