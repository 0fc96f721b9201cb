# Reference outputs of torchvision's own classification models, for RecognitionTests.Matches_torchvision.
# Run with Debian's python3-torch (1.13) and python3-torchvision (0.14.1): /usr/bin/python3 make_references.py
# Each model is built by torchvision at a reduced width (same module tree and state-dict keys as the full model),
# with seeded random weights and randomised BatchNorm statistics, saved as an F16 state dict (torch.save); the
# logits are computed in float32 from the F16-rounded weights on a fixed input [1, 3, 64, 64] given by a formula:
#   x[c, h, w] = sin(0.37·(h + 1)·(c + 1)) + cos(0.23·(w + 1)) − 0.1·c, computed in float64, rounded to float32.
import json, math, torch, torchvision
from torchvision.models import densenet, efficientnet

def make():
    s, last = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=1.0)
    return {
        'mobilenet_v3_small': torchvision.models.mobilenet_v3_small(width_mult=0.25, num_classes=10),
        'densenet121_narrow': densenet.DenseNet(growth_rate=4, block_config=(6, 12, 24, 16), num_init_features=8, bn_size=2, num_classes=10),
        'efficientnet_b0_narrow': efficientnet.EfficientNet(s, 0.2, num_classes=10, last_channel=last),
    }

x = torch.tensor([[[[math.sin(0.37 * (h + 1) * (c + 1)) + math.cos(0.23 * (w + 1)) - 0.1 * c for w in range(64)] for h in range(64)] for c in range(3)]],
                 dtype=torch.float64).float()
torch.manual_seed(20)
for name, m in make().items():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.2, 0.2)
        if isinstance(mod, torch.nn.Linear):
            mod.weight.data.normal_(0, 0.3)
    half = {k: v.half() if v.is_floating_point() else v for k, v in m.state_dict().items()}
    torch.save(half, f'{name}.pth')
    m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
    m.eval()
    with torch.no_grad():
        logits = m(x)[0].tolist()
    json.dump({'torchvision': torchvision.__version__, 'torch': torch.__version__, 'logits': logits}, open(f'{name}.json', 'w'), indent=1)
    print(name, sum(p.numel() for p in m.parameters()), 'parameters; logits', [round(v, 4) for v in logits[:4]], '…')
