#!/usr/bin/env python3
"""The PyTorch side of the patching benchmark (server/bench/ModelVis.Bench PatchingReport).

Residual-stream activation patching as fixtures/README-interp.md (section D) defines it, written the usual PyTorch
way: the clean run is cached once through forward pre-hooks on the blocks (the residual entering each layer), then
for every layer l and position p the corrupted ids run again, with a pre-hook on block l putting the clean residual
back at p. The metric is logit[n-1, t_clean] - logit[n-1, t_corrupt], reported as the recovered fraction
(M_patched - M_corrupted) / (M_clean - M_corrupted). The model is the engine benchmark's hand-written GPT-2
(bench/engine/torch_forward.py). Prints one JSON line: {"times": [...], "resid": [[...]], ...}.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
from torch_forward import Gpt2, load_safetensors, torch  # noqa: E402  (exits 3 when PyTorch is missing)


def sweep(model, clean, corrupt, t_clean, t_corrupt):
    """The [L][n] recovered fractions and the two metrics: one clean run (cached), one corrupted, L·n patched."""
    L, n = len(model.blocks), len(clean)
    cache = [None] * L

    def keeper(l):
        def hook(module, args):
            cache[l] = args[0]
        return hook

    handles = [b.register_forward_pre_hook(keeper(l)) for l, b in enumerate(model.blocks)]
    clean_logits = model(clean)[0][-1]
    for handle in handles:
        handle.remove()
    corrupt_logits = model(corrupt)[0][-1]
    if t_clean is None:
        t_clean = int(clean_logits.argmax())
    if t_corrupt is None:
        others = corrupt_logits.clone()
        t_corrupt = int(others.argmax())
        if t_corrupt == t_clean:
            others[t_clean] = float("-inf")
            t_corrupt = int(others.argmax())

    def metric(logits):
        return float(logits[t_clean]) - float(logits[t_corrupt])

    m_clean, m_corrupt = metric(clean_logits), metric(corrupt_logits)
    resid = []
    for l in range(L):
        row = []
        for p in range(n):
            def patch(module, args, l=l, p=p):
                h = args[0].clone()
                h[p] = cache[l][p]
                return (h,) + args[1:]
            handle = model.blocks[l].register_forward_pre_hook(patch)
            row.append((metric(model(corrupt)[0][-1]) - m_corrupt) / (m_clean - m_corrupt))
            handle.remove()
        resid.append(row)
    return resid, m_clean, m_corrupt, t_clean, t_corrupt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--clean", required=True, help="clean ids, comma-separated")
    ap.add_argument("--corrupt", required=True, help="corrupted ids, comma-separated")
    ap.add_argument("--target", type=int, help="t_clean (default: the clean run's argmax at the last position)")
    ap.add_argument("--contrast", type=int, help="t_corrupt (default: the corrupted run's argmax, or its best other token)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    cfg = json.load(open(f"{a.model}/config.json"))
    if cfg["model_type"] != "gpt2":
        raise SystemExit(f"model_type {cfg['model_type']}: this benchmark runs GPT-2")
    model = Gpt2(cfg, load_safetensors(f"{a.model}/model.safetensors"))
    clean = torch.tensor([int(x) for x in a.clean.split(",")])
    corrupt = torch.tensor([int(x) for x in a.corrupt.split(",")])
    model(clean)  # warm up
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        resid, m_clean, m_corrupt, t_clean, t_corrupt = sweep(model, clean, corrupt, a.target, a.contrast)
        times.append(time.perf_counter() - t)
    print(json.dumps({"times": times, "resid": resid, "metric_clean": m_clean, "metric_corrupted": m_corrupt,
                      "t_clean": t_clean, "t_corrupt": t_corrupt, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
