#!/usr/bin/env python3
"""One training step of ModelVis' built-in Llama model in PyTorch, for comparison with ModelVis.Training.

The model copies the HF LlamaForCausalLM eager math (rotate_half RoPE, RMSNorm, SwiGLU MLP, grouped-query
attention, untied lm_head) at the built-in size; the step is forward + cross-entropy + backward + global-norm
clipping + AdamW, on a random batch of the same shape. Float32, CPU, 2 threads by default.

  /usr/bin/python3 torch_llama_step.py [--steps 20] [--threads 2]   -> prints the median step time (JSON)
  /usr/bin/python3 torch_llama_step.py --serve                       -> one step per line "step" on stdin, replies "ok"
"""
import argparse, json, math, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["hidden"], c["hidden"] // c["heads"]
        self.c, self.hd = c, hd
        self.q_proj = nn.Linear(d, c["heads"] * hd, bias=False)
        self.k_proj = nn.Linear(d, c["kv_heads"] * hd, bias=False)
        self.v_proj = nn.Linear(d, c["kv_heads"] * hd, bias=False)
        self.o_proj = nn.Linear(c["heads"] * hd, d, bias=False)
        self.gate_proj = nn.Linear(d, c["ffn"], bias=False)
        self.up_proj = nn.Linear(d, c["ffn"], bias=False)
        self.down_proj = nn.Linear(c["ffn"], d, bias=False)
        self.input_layernorm = RMSNorm(d, c["eps"])
        self.post_attention_layernorm = RMSNorm(d, c["eps"])

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, KV, hd = self.c["heads"], self.c["kv_heads"], self.hd
        a = self.input_layernorm(x)
        q = self.q_proj(a).view(B, T, H, hd).transpose(1, 2)
        k = self.k_proj(a).view(B, T, KV, hd).transpose(1, 2)
        v = self.v_proj(a).view(B, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        p = F.softmax(s, dim=-1)
        o = (p @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + self.o_proj(o)
        m = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(m)) * self.up_proj(m))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["hidden"], c["eps"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)

    def forward(self, ids):
        B, T = ids.shape
        hd = self.c["hidden"] // self.c["heads"]
        inv = 1.0 / (self.c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        f = torch.outer(torch.arange(T, dtype=torch.float32), inv)
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


# The built-in model's recipe (TrainOptions.BuiltinDefault in ModelVis.Training).
BUILTIN = dict(vocab=512, hidden=64, layers=4, heads=4, kv_heads=2, ffn=192, eps=1e-5, theta=10000.0, batch=16, seq=128)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--serve", action="store_true")
    for k in ("layers", "hidden", "heads", "kv_heads", "ffn", "vocab", "batch", "seq"):
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=BUILTIN[k])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = dict(BUILTIN)
    for k in ("layers", "hidden", "heads", "kv_heads", "ffn", "vocab", "batch", "seq"):
        c[k] = getattr(a, k)
    model = Llama(c)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(1)

    def step():
        ids = torch.randint(0, c["vocab"], (c["batch"], c["seq"] + 1), generator=g)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, c["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    if a.serve:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "step":
                step()
                print("ok", flush=True)
            elif line.strip() == "quit":
                break
        return
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "config": c,
                      "median_step_s": times[len(times) // 2], "min_step_s": times[0]}))


if __name__ == "__main__":
    main()
