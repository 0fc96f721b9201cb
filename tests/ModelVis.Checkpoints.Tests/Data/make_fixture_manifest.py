# Writes fixture_manifest.json: for every safetensors file under ../shared/fixtures/models, each tensor's
# dtype, shape and value checksums, computed independently of ModelVis (plain JSON parsing + torch).
# Development time only; the tests read the JSON.
import glob, json, os, struct, sys, torch

root = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/models"
dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "F64": torch.float64}
out = {}
for path in sorted(glob.glob(os.path.join(root, "*", "*.safetensors"))):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    tensors = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + b: 8 + n + end]), dtype=dtypes[e["dtype"]]).double()
        tensors.append({"name": name, "dtype": e["dtype"], "shape": e["shape"],
                        "sum": t.sum().item(), "abs_sum": t.abs().sum().item(),
                        "first": t[:3].tolist(), "last": t[-1].item()})
    out[os.path.relpath(path, root)] = tensors
json.dump(out, open("fixture_manifest.json", "w"), separators=(",", ":"))
