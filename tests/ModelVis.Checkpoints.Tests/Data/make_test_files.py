# Generates the tiny PyTorch checkpoints the tests read (run once at development time with Debian's
# python3-torch; the tests themselves never need Python). Values are simple formulas the tests recompute.
import collections, json, torch

torch.manual_seed(0)

def base():
    sd = collections.OrderedDict()
    sd["f32"] = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5           # (i/8 - 0.5)
    sd["f16"] = (torch.arange(6, dtype=torch.float32) * 0.1 - 0.25).to(torch.float16)     # rounded to F16
    sd["bf16"] = (torch.arange(6, dtype=torch.float32) * 0.1 - 0.25).to(torch.bfloat16)  # rounded to BF16
    sd["f64"] = torch.tensor([1.5, -2.25, 1e-3], dtype=torch.float64)
    sd["i64"] = torch.tensor([0, -1, 2**40, -(2**40)], dtype=torch.int64)
    sd["i32"] = torch.tensor([[1, -2], [3, -4]], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 5)
    whole = torch.arange(20, dtype=torch.float32)                 # 0..19
    sd["view.transposed"] = whole[:12].reshape(3, 4).t()          # [4,3], stride [1,4]: non-contiguous
    sd["view.slice"] = whole[5:9]                                 # offset 5 into the same storage
    sd["view.every_other"] = whole[1::2]                          # stride [2]
    sd["view.whole"] = whole                                      # shares the storage with the three above
    p = torch.nn.Parameter(torch.tensor([[0.5, -0.5]]))
    sd["param"] = p                                               # saved through _rebuild_parameter
    sd["tied.a"] = sd["f32"]                                      # the same tensor under two names
    return sd

torch.save(base(), "dtypes.pt")
torch.save(base(), "dtypes_protocol4.pt", pickle_protocol=4)

# A training checkpoint in plain PyTorch style: nested dicts, the weights under "model".
net = torch.nn.Linear(3, 2)
with torch.no_grad():
    net.weight.copy_(torch.tensor([[1., 2., 3.], [4., 5., 6.]]))
    net.bias.copy_(torch.tensor([0.5, -0.5]))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
net(torch.ones(1, 3)).sum().backward(); opt.step()
torch.save({"epoch": 3, "model": net.state_dict(), "optimizer": opt.state_dict(), "note": "tiny"}, "training.pt")

# A whole module pickled (torch.save(model)): must be refused, never constructed.
torch.save(net, "whole_module.pt")

# The legacy (torch < 1.6) format.
torch.save({"w": torch.ones(2)}, "legacy.pt", _use_new_zipfile_serialization=False)

# A sharded pytorch_model.bin with its index.
a = collections.OrderedDict(
    [("layer.0.weight", torch.arange(4, dtype=torch.float32).reshape(2, 2)), ("layer.0.bias", torch.tensor([1.0, 2.0]))])
b = collections.OrderedDict([("layer.1.weight", -torch.arange(4, dtype=torch.float32).reshape(2, 2))])
import os
os.makedirs("sharded", exist_ok=True)
torch.save(a, "sharded/pytorch_model-00001-of-00002.bin")
torch.save(b, "sharded/pytorch_model-00002-of-00002.bin")
with open("sharded/pytorch_model.bin.index.json", "w") as f:
    json.dump({"metadata": {"total_size": 40},
               "weight_map": {**{k: "pytorch_model-00001-of-00002.bin" for k in a},
                              **{k: "pytorch_model-00002-of-00002.bin" for k in b}}}, f, indent=2)
