"""A small file to try ModelVis on: select some lines, right-click, "Visualize Attention".

Hover a tensor name such as "model.layers.0.self_attn.q_proj.weight" (with modelvis.model set to a
Llama checkpoint) to preview its values.
"""

import math


def softmax(xs):
    m = max(xs)
    exps = [math.exp(x - m) for x in xs]
    total = sum(exps)
    return [e / total for e in exps]


def attention(query, keys, values):
    scale = 1.0 / math.sqrt(len(query))
    scores = [sum(q * k for q, k in zip(query, key)) * scale for key in keys]
    weights = softmax(scores)
    return [sum(w * v[i] for w, v in zip(weights, values)) for i in range(len(values[0]))]


weights_to_inspect = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.mlp.down_proj.weight",
]
