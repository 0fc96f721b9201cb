#!/usr/bin/env python3
"""The PyTorch side of the ModelVis engine benchmark (server/bench/ModelVis.Bench EngineReport).

Runs the same forward pass as the engine on the same model folder (config.json + model.safetensors, GPT-2 or
Llama layout), written in plain PyTorch the way Hugging Face's eager code computes it, keeping the same captures
(--capture full: every attention and hidden state + logits; --capture hidden: hidden states + logits + layer 0's
attention). Prints one JSON line: {"times": [...], "peak_mb": ..., "loaded_mb": ...}.

Needs Debian's PyTorch with OpenBLAS (without libopenblas0-pthread Debian falls back to the slow reference BLAS):
    apt-get install -y python3-torch libopenblas0-pthread
"""
import argparse
import json
import math
import resource
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    print("PyTorch is not installed. Install it with:\n    apt-get install -y python3-torch libopenblas0-pthread", file=sys.stderr)
    sys.exit(3)


def load_safetensors(path):
    """name -> float32 torch tensor (F32/F16/BF16), read with numpy from the raw file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.asarray(data[begin:end])
        if info["dtype"] == "F32":
            a = raw.view(np.float32)
        elif info["dtype"] == "F16":
            a = raw.view(np.float16).astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{name}: dtype {info['dtype']} not handled")
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return out


def attention(q, k, v, keep):
    """Eager scaled dot-product attention with a causal mask; q, k, v [heads, n, hd]."""
    n = q.size(-2)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.size(-1))
    mask = torch.triu(torch.full((n, n), torch.finfo(s.dtype).min), diagonal=1)
    p = F.softmax(s + mask, dim=-1)
    return torch.matmul(p, v), (p if keep else None)


class Gpt2Block(torch.nn.Module):
    """One GPT-2 layer as a module (so patching can hook the residual entering it): block(h, keep) -> (h, probs)."""

    def __init__(self, cfg, w, i):
        super().__init__()
        p = f"transformer.h.{i}."
        self.w = {k[len(p):]: v for k, v in w.items() if k.startswith(p)}
        self.d, self.H, self.eps = cfg["n_embd"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)

    def forward(self, h, keep=False):
        w, d, H, n = self.w, self.d, self.H, h.size(0)
        a = F.layer_norm(h, (d,), w["ln_1.weight"], w["ln_1.bias"], self.eps)
        qkv = torch.addmm(w["attn.c_attn.bias"], a, w["attn.c_attn.weight"])
        q, k, v = (t.view(n, H, d // H).transpose(0, 1) for t in qkv.split(d, dim=1))
        ctx, probs = attention(q, k, v, keep)
        h = h + torch.addmm(w["attn.c_proj.bias"], ctx.transpose(0, 1).reshape(n, d), w["attn.c_proj.weight"])
        m = F.layer_norm(h, (d,), w["ln_2.weight"], w["ln_2.bias"], self.eps)
        m = F.gelu(torch.addmm(w["mlp.c_fc.bias"], m, w["mlp.c_fc.weight"]), approximate="tanh")
        return h + torch.addmm(w["mlp.c_proj.bias"], m, w["mlp.c_proj.weight"]), probs


class Gpt2(torch.nn.Module):
    """GPT-2 (GPT2LMHeadModel, tied head) over the raw weights: model(ids, keep_attention) -> (logits, hidden, attns)."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg, self.w = cfg, w
        self.blocks = torch.nn.ModuleList(Gpt2Block(cfg, w, i) for i in range(cfg["n_layer"]))

    def forward(self, ids, keep_attention=lambda i: False):
        w, d, n = self.w, self.cfg["n_embd"], len(ids)
        wte = w["transformer.wte.weight"]
        h = wte[ids] + w["transformer.wpe.weight"][:n]
        hidden, attns = [h], []
        for i, block in enumerate(self.blocks):
            h, probs = block(h, keep_attention(i))
            hidden.append(h)
            attns.append(probs)
        h = F.layer_norm(h, (d,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], self.cfg.get("layer_norm_epsilon", 1e-5))
        hidden[-1] = h
        return F.linear(h, wte), hidden, attns


def gpt2_forward(cfg, w, ids, keep_attention):
    return Gpt2(cfg, w)(ids, keep_attention)


def llama_forward(cfg, w, ids, keep_attention):
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd, eps, n = d // H, cfg.get("rms_norm_eps", 1e-6), len(ids)
    emb = w["model.embed_tokens.weight"]
    head = w.get("lm_head.weight", emb)

    def rms(x, g):
        return g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.outer(torch.arange(n).float(), inv)
    ang = torch.cat((ang, ang), dim=-1)
    cos, sin = ang.cos(), ang.sin()

    def rope(x):  # [heads, n, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    h = emb[ids]
    hidden, attns = [h], []
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms(h, w[p + "input_layernorm.weight"])
        q = rope(F.linear(x, w[p + "self_attn.q_proj.weight"]).view(n, H, hd).transpose(0, 1))
        k = rope(F.linear(x, w[p + "self_attn.k_proj.weight"]).view(n, KV, hd).transpose(0, 1))
        v = F.linear(x, w[p + "self_attn.v_proj.weight"]).view(n, KV, hd).transpose(0, 1)
        k, v = k.repeat_interleave(H // KV, dim=0), v.repeat_interleave(H // KV, dim=0)
        ctx, probs = attention(q, k, v, keep_attention(i))
        h = h + F.linear(ctx.transpose(0, 1).reshape(n, H * hd), w[p + "self_attn.o_proj.weight"])
        x = rms(h, w[p + "post_attention_layernorm.weight"])
        h = h + F.linear(F.silu(F.linear(x, w[p + "mlp.gate_proj.weight"])) * F.linear(x, w[p + "mlp.up_proj.weight"]),
                         w[p + "mlp.down_proj.weight"])
        hidden.append(h)
        attns.append(probs)
    h = rms(h, w["model.norm.weight"])
    hidden[-1] = h
    return F.linear(h, head), hidden, attns


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--capture", choices=["full", "hidden"], default="full")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    cfg = json.load(open(f"{a.model}/config.json"))
    w = load_safetensors(f"{a.model}/model.safetensors")
    forward = {"gpt2": gpt2_forward, "llama": llama_forward}[cfg["model_type"]]
    loaded = rss_mb()
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg["vocab_size"], (a.tokens,), generator=g)
    keep = (lambda i: True) if a.capture == "full" else (lambda i: i == 0)
    times = []
    for r in range(a.reps + 1):
        t = time.perf_counter()
        out = forward(cfg, w, ids, keep)
        elapsed = time.perf_counter() - t
        del out
        if r > 0:  # the first pass warms up
            times.append(elapsed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"times": times, "peak_mb": peak, "loaded_mb": loaded, "torch": torch.__version__,
                      "blas": "openblas" if "openblas" in torch.__config__.show().lower() else "other"}))


if __name__ == "__main__":
    main()
