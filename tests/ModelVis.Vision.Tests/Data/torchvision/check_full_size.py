# Full-size cross-check, by hand (the .pth files are too large to keep): torchvision's models at their real widths
# with random weights and randomised BatchNorm statistics, saved as state dicts; the ModelVis CLI runs each .pth
# without a sidecar on a 224×224 picture (no resize) and the logits are compared with torchvision's forward.
#   /usr/bin/python3 check_full_size.py resnet18 resnet50 mobilenet_v2 …   (Debian python3-torch, python3-torchvision)
# Set MODELVIS_CLI to the built modelvis.dll (default: the Debug build of this checkout). Work files go to $TMPDIR.
import json, os, struct, subprocess, sys, tempfile, zlib, torch, torchvision

here = os.path.dirname(os.path.abspath(__file__))
cli = os.environ.get('MODELVIS_CLI', os.path.join(here, '..', '..', '..', '..', 'server', 'src', 'ModelVis.Cli', 'bin', 'Debug', 'net10.0', 'modelvis.dll'))
work = tempfile.mkdtemp(prefix='modelvis-torchvision-')

torch.manual_seed(0)
W = H = 224
# A deterministic RGB picture, written as PNG without PIL.
pix = bytes(((x * 7 + y * 3 + c * 50) ^ (x * y)) & 255 for y in range(H) for x in range(W) for c in range(3))
raw = b''.join(b'\x00' + pix[y * W * 3:(y + 1) * W * 3] for y in range(H))
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(os.path.join(work, 'in.png'), 'wb').write(png)
x = torch.tensor(list(pix), dtype=torch.float32).reshape(H, W, 3).permute(2, 0, 1).unsqueeze(0) / 255
mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
x = (x - mean) / std

def read_logits(path):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); t = h['logits']
    s, e = t['data_offsets']; return list(struct.unpack(f'<{(e - s) // 4}f', b[8 + n + s:8 + n + e]))

for name in sys.argv[1:]:
    m = getattr(torchvision.models, name)()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    with torch.no_grad(): ref = m(x)[0].tolist()
    pth = os.path.join(work, f'{name}.pth')
    torch.save(m.state_dict(), pth)
    out = subprocess.run(['dotnet', cli, 'features', '--model', pth,
                          '--image', os.path.join(work, 'in.png'), '--out', os.path.join(work, f'{name}.safetensors')], capture_output=True, text=True)
    if out.returncode != 0: print(name, 'FAILED', out.stdout[-500:], out.stderr[-800:]); continue
    arch = json.loads(out.stdout)['architecture']
    got = read_logits(os.path.join(work, f'{name}.safetensors'))
    diff = max(abs(a - b) for a, b in zip(ref, got)); scale = max(abs(a) for a in ref)
    os.remove(pth)
    print(f'{name}: recognised as {arch}; max |logit diff| {diff:.2e} (logits up to {scale:.2f}); argmax torch {max(range(len(ref)), key=ref.__getitem__)} modelvis {max(range(len(got)), key=got.__getitem__)}', flush=True)
