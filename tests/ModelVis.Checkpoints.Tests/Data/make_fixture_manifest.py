# Writes fixture_manifest.json: for every safetensors file under ../shared/fixtures/models, each tensor's
# dtype, shape and value checksums, computed independently of ModelVis (plain JSON parsing + Python's struct,
# sums in double precision). Development time only; the tests read the JSON. Run it again when fixtures are added.
import glob, json, math, os, struct, sys

root = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/models"

def values(dtype, raw):
    if dtype == "F32": return struct.unpack(f"<{len(raw) // 4}f", raw)
    if dtype == "F64": return struct.unpack(f"<{len(raw) // 8}d", raw)
    if dtype == "F16": return struct.unpack(f"<{len(raw) // 2}e", raw)
    if dtype == "I64": return [float(v) for v in struct.unpack(f"<{len(raw) // 8}q", raw)]
    if dtype == "BF16":  # the top half of a float32
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in struct.unpack(f"<{len(raw) // 2}H", raw)]
    raise ValueError(dtype)

out = {}
for path in sorted(glob.glob(os.path.join(root, "*", "*.safetensors"))):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    tensors = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        v = values(e["dtype"], data[8 + n + b: 8 + n + end])
        tensors.append({"name": name, "dtype": e["dtype"], "shape": e["shape"],
                        "sum": math.fsum(v), "abs_sum": math.fsum(abs(x) for x in v),
                        "first": list(v[:3]), "last": v[-1]})
    out[os.path.relpath(path, root)] = tensors
json.dump(out, open("fixture_manifest.json", "w"), separators=(",", ":"))
