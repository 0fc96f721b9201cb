using ModelVis.Checkpoints.Tests;

namespace ModelVis.Vision.Tests;

/// <summary>
/// The state-dict layouts (names and shapes) of torchvision's classification models, written here the way their
/// constructors register modules (torchvision/models/*.py), independently of the host's recognisers. A width
/// divisor shrinks every hidden width (not the key set) so the large models run quickly in tests.
/// </summary>
public sealed class StateDict
{
    public List<(string Name, int[] Shape)> Tensors { get; } = [];

    public Dictionary<string, int[]> Shapes => Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);

    void Add(string name, params int[] shape) => Tensors.Add((name, shape));

    public void Conv(string p, int inC, int outC, int k, int groups = 1, bool bias = false)
    {
        Add(p + ".weight", outC, inC / groups, k, k);
        if (bias) Add(p + ".bias", outC);
    }

    public void BatchNorm(string p, int c)
    {
        Add(p + ".weight", c); Add(p + ".bias", c); Add(p + ".running_mean", c); Add(p + ".running_var", c);
        Add(p + ".num_batches_tracked"); // an int64 scalar
    }

    public void Linear(string p, int inF, int outF)
    {
        Add(p + ".weight", outF, inF); Add(p + ".bias", outF);
    }

    /// <summary>Writes the state dict as torch.save does, with random weights (uniform ±√(3/fan_in)), BatchNorm at identity statistics.</summary>
    public void WritePth(string path, int seed = 1)
    {
        var rng = new Random(seed);
        var specs = new List<TorchTensorSpec>();
        var storages = new Dictionary<string, byte[]>();
        foreach (var (name, shape) in Tensors)
        {
            string key = storages.Count.ToString();
            long numel = shape.Aggregate(1L, (a, b) => a * b);
            var stride = new long[shape.Length];
            for (int i = shape.Length - 1, s = 1; i >= 0; s *= shape[i], i--) stride[i] = s;
            if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            {
                specs.Add(new(name, "LongStorage", key, 1, 0, [], []));
                storages[key] = BitConverter.GetBytes(100L);
                continue;
            }
            var values = new float[numel];
            if (name.EndsWith(".running_var", StringComparison.Ordinal) || name.EndsWith(".weight", StringComparison.Ordinal) && shape.Length == 1) Array.Fill(values, 1f);
            else if (shape.Length >= 2)
            {
                float limit = MathF.Sqrt(3f / (numel / shape[0]));
                for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * limit;
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 0.2 - 0.1);
            specs.Add(new(name, "FloatStorage", key, numel, 0, shape.Select(d => (long)d).ToArray(), stride));
            storages[key] = TorchZipBuilder.Floats(values);
        }
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(specs), storages);
    }
}

public static class TorchvisionStateDicts
{
    /// <summary>The LeNet-5 of the MNIST tutorials (and of the lenet5-mnist fixture): conv1, conv2, fc1..fc3.</summary>
    public static StateDict LeNet()
    {
        var d = new StateDict();
        d.Conv("conv1", 1, 6, 5, bias: true); d.Conv("conv2", 6, 16, 5, bias: true);
        d.Linear("fc1", 256, 120); d.Linear("fc2", 120, 84); d.Linear("fc3", 84, 10);
        return d;
    }

    public static StateDict AlexNet(int div = 1, int classes = 1000)
    {
        var d = new StateDict();
        int[] widths = [64 / div, 192 / div, 384 / div, 256 / div, 256 / div];
        int[] kernels = [11, 5, 3, 3, 3];
        int[] index = [0, 3, 6, 8, 10];
        for (int i = 0, inC = 3; i < 5; inC = widths[i], i++) d.Conv($"features.{index[i]}", inC, widths[i], kernels[i], bias: true);
        d.Linear("classifier.1", widths[4] * 36, 4096 / div); d.Linear("classifier.4", 4096 / div, 4096 / div); d.Linear("classifier.6", 4096 / div, classes);
        return d;
    }

    public static readonly Dictionary<int, int[]> VggConfigs = new()
    {
        [11] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [13] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [16] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        [19] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    };

    /// <summary>torchvision's make_layers: "M" (0 here) is a max-pool; each conv is followed by (BatchNorm and) ReLU.</summary>
    public static StateDict Vgg(int depth, bool batchNorm, int div = 1, int classes = 1000)
    {
        var d = new StateDict();
        int index = 0, inC = 3;
        foreach (var v in VggConfigs[depth])
        {
            if (v == 0) { index++; continue; }
            d.Conv($"features.{index}", inC, v / div, 3, bias: true);
            if (batchNorm) d.BatchNorm($"features.{index + 1}", v / div);
            index += batchNorm ? 3 : 2;
            inC = v / div;
        }
        d.Linear("classifier.0", inC * 49, 4096 / div); d.Linear("classifier.3", 4096 / div, 4096 / div); d.Linear("classifier.6", 4096 / div, classes);
        return d;
    }

    public static StateDict ResNet(int depth, int div = 1, int classes = 1000)
    {
        var (bottleneck, blocks) = depth switch
        {
            18 => (false, new[] { 2, 2, 2, 2 }), 34 => (false, new[] { 3, 4, 6, 3 }),
            50 => (true, new[] { 3, 4, 6, 3 }), 101 => (true, new[] { 3, 4, 23, 3 }), 152 => (true, new[] { 3, 8, 36, 3 }),
            _ => throw new ArgumentException("depth"),
        };
        int expansion = bottleneck ? 4 : 1;
        var d = new StateDict();
        int inplanes = 64 / div;
        d.Conv("conv1", 3, inplanes, 7); d.BatchNorm("bn1", inplanes);
        for (int stage = 0; stage < 4; stage++)
        {
            int planes = (64 << stage) / div;
            for (int i = 0; i < blocks[stage]; i++)
            {
                string p = $"layer{stage + 1}.{i}";
                int stride = stage > 0 && i == 0 ? 2 : 1;
                if (bottleneck)
                {
                    d.Conv(p + ".conv1", inplanes, planes, 1); d.BatchNorm(p + ".bn1", planes);
                    d.Conv(p + ".conv2", planes, planes, 3); d.BatchNorm(p + ".bn2", planes);
                    d.Conv(p + ".conv3", planes, planes * 4, 1); d.BatchNorm(p + ".bn3", planes * 4);
                }
                else
                {
                    d.Conv(p + ".conv1", inplanes, planes, 3); d.BatchNorm(p + ".bn1", planes);
                    d.Conv(p + ".conv2", planes, planes, 3); d.BatchNorm(p + ".bn2", planes);
                }
                if (stride != 1 || inplanes != planes * expansion)
                {
                    d.Conv(p + ".downsample.0", inplanes, planes * expansion, 1); d.BatchNorm(p + ".downsample.1", planes * expansion);
                }
                inplanes = planes * expansion;
            }
        }
        d.Linear("fc", inplanes, classes);
        return d;
    }

    /// <summary>torchvision's _make_divisible: the nearest multiple of 8, not below 90 % of the value.</summary>
    static int Divisible(double v, int divisor = 8)
    {
        int n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        return n < 0.9 * v ? n + divisor : n;
    }

    public static StateDict MobileNetV2(int classes = 1000)
    {
        var d = new StateDict();
        int[][] settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
        int inC = 32, index = 1;
        d.Conv("features.0.0", 3, inC, 3); d.BatchNorm("features.0.1", inC);
        foreach (var s in settings)
            for (int i = 0; i < s[2]; i++, index++)
            {
                int hidden = inC * s[0];
                string p = $"features.{index}.conv";
                int m = 0;
                if (s[0] != 1) { d.Conv($"{p}.0.0", inC, hidden, 1); d.BatchNorm($"{p}.0.1", hidden); m = 1; }
                d.Conv($"{p}.{m}.0", hidden, hidden, 3, groups: hidden); d.BatchNorm($"{p}.{m}.1", hidden);
                d.Conv($"{p}.{m + 1}", hidden, s[1], 1); d.BatchNorm($"{p}.{m + 2}", s[1]);
                inC = s[1];
            }
        d.Conv($"features.{index}.0", inC, 1280, 1); d.BatchNorm($"features.{index}.1", 1280);
        d.Linear("classifier.1", 1280, classes);
        return d;
    }

    /// <summary>(input, kernel, expanded, output, squeeze-excitation) per block of MobileNetV3 Large and Small.</summary>
    static readonly (int In, int K, int Exp, int Out, bool Se)[] V3Large =
    [
        (16, 3, 16, 16, false), (16, 3, 64, 24, false), (24, 3, 72, 24, false), (24, 5, 72, 40, true), (40, 5, 120, 40, true),
        (40, 5, 120, 40, true), (40, 3, 240, 80, false), (80, 3, 200, 80, false), (80, 3, 184, 80, false), (80, 3, 184, 80, false),
        (80, 3, 480, 112, true), (112, 3, 672, 112, true), (112, 5, 672, 160, true), (160, 5, 960, 160, true), (160, 5, 960, 160, true),
    ];
    static readonly (int In, int K, int Exp, int Out, bool Se)[] V3Small =
    [
        (16, 3, 16, 16, true), (16, 3, 72, 24, false), (24, 3, 88, 24, false), (24, 5, 96, 40, true), (40, 5, 240, 40, true),
        (40, 5, 240, 40, true), (40, 5, 120, 48, true), (48, 5, 144, 48, true), (48, 5, 288, 96, true), (96, 5, 576, 96, true), (96, 5, 576, 96, true),
    ];

    public static StateDict MobileNetV3(bool large, int classes = 1000)
    {
        var d = new StateDict();
        d.Conv("features.0.0", 3, 16, 3); d.BatchNorm("features.0.1", 16);
        var table = large ? V3Large : V3Small;
        for (int i = 0; i < table.Length; i++)
        {
            var c = table[i];
            string p = $"features.{i + 1}.block";
            int m = 0;
            if (c.Exp != c.In) { d.Conv($"{p}.0.0", c.In, c.Exp, 1); d.BatchNorm($"{p}.0.1", c.Exp); m++; }
            d.Conv($"{p}.{m}.0", c.Exp, c.Exp, c.K, groups: c.Exp); d.BatchNorm($"{p}.{m}.1", c.Exp); m++;
            if (c.Se)
            {
                int squeeze = Divisible(c.Exp / 4);
                d.Conv($"{p}.{m}.fc1", c.Exp, squeeze, 1, bias: true); d.Conv($"{p}.{m}.fc2", squeeze, c.Exp, 1, bias: true); m++;
            }
            d.Conv($"{p}.{m}.0", c.Exp, c.Out, 1); d.BatchNorm($"{p}.{m}.1", c.Out);
        }
        int last = table[^1].Out, lastConv = 6 * last, hidden = large ? 1280 : 1024;
        d.Conv($"features.{table.Length + 1}.0", last, lastConv, 1); d.BatchNorm($"features.{table.Length + 1}.1", lastConv);
        d.Linear("classifier.0", lastConv, hidden); d.Linear("classifier.3", hidden, classes);
        return d;
    }

    public static StateDict DenseNet121(int div = 1, int classes = 1000)
    {
        int growth = 32 / div, bnSize = 4;
        int[] blocks = [6, 12, 24, 16];
        var d = new StateDict();
        int features = 64 / div;
        d.Conv("features.conv0", 3, features, 7); d.BatchNorm("features.norm0", features);
        for (int b = 0; b < blocks.Length; b++)
        {
            for (int l = 0; l < blocks[b]; l++)
            {
                string p = $"features.denseblock{b + 1}.denselayer{l + 1}";
                int inC = features + l * growth;
                d.BatchNorm(p + ".norm1", inC); d.Conv(p + ".conv1", inC, bnSize * growth, 1);
                d.BatchNorm(p + ".norm2", bnSize * growth); d.Conv(p + ".conv2", bnSize * growth, growth, 3);
            }
            features += blocks[b] * growth;
            if (b != blocks.Length - 1)
            {
                string t = $"features.transition{b + 1}";
                d.BatchNorm(t + ".norm", features); d.Conv(t + ".conv", features, features / 2, 1);
                features /= 2;
            }
        }
        d.BatchNorm("features.norm5", features);
        d.Linear("classifier", features, classes);
        return d;
    }

    public static StateDict EfficientNetB0(int classes = 1000)
    {
        (int Expand, int K, int In, int Out, int Layers)[] stages = [(1, 3, 32, 16, 1), (6, 3, 16, 24, 2), (6, 5, 24, 40, 2), (6, 3, 40, 80, 3), (6, 5, 80, 112, 3), (6, 5, 112, 192, 4), (6, 3, 192, 320, 1)];
        var d = new StateDict();
        d.Conv("features.0.0", 3, 32, 3); d.BatchNorm("features.0.1", 32);
        for (int s = 0; s < stages.Length; s++)
            for (int i = 0; i < stages[s].Layers; i++)
            {
                var c = stages[s];
                int inC = i == 0 ? c.In : c.Out, expanded = Divisible(inC * c.Expand);
                string p = $"features.{s + 1}.{i}.block";
                int m = 0;
                if (expanded != inC) { d.Conv($"{p}.0.0", inC, expanded, 1); d.BatchNorm($"{p}.0.1", expanded); m++; }
                d.Conv($"{p}.{m}.0", expanded, expanded, c.K, groups: expanded); d.BatchNorm($"{p}.{m}.1", expanded); m++;
                int squeeze = Math.Max(1, inC / 4);
                d.Conv($"{p}.{m}.fc1", expanded, squeeze, 1, bias: true); d.Conv($"{p}.{m}.fc2", squeeze, expanded, 1, bias: true); m++;
                d.Conv($"{p}.{m}.0", expanded, c.Out, 1); d.BatchNorm($"{p}.{m}.1", c.Out);
            }
        d.Conv("features.8.0", 320, 1280, 1); d.BatchNorm("features.8.1", 1280);
        d.Linear("classifier.1", 1280, classes);
        return d;
    }
}
