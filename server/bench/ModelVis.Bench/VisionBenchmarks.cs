using BenchmarkDotNet.Attributes;
using ModelVis.Vision;
using ModelVis.Vision.Images;
using ModelVis.Vision.Ops;
using Window2D = ModelVis.Tensors.Window2D;

namespace ModelVis.Bench;

/// <summary>
/// Time to all feature maps on the largest fixture CNN: UltraFace RFB-320 (126 nodes, 300k parameters). Its graph
/// fixes the input at 320×240 (the prior boxes are baked into the heads' reshapes), so it runs at 320×240, not
/// 224×224. Baselines in the same run: the same pass keeping only the outputs, and the model's most expensive
/// convolution layer by the vectorised im2col+GEMM path against a direct scalar loop.
/// Run: dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter '*Vision*'
/// </summary>
[ShortRunJob]
public class VisionBenchmarks
{
    VisionModel _ultraFace = null!;
    NdArray _input = null!;
    NdArray _convX = null!, _convW = null!, _convB = null!;
    Window2D _win;

    [GlobalSetup]
    public void Setup()
    {
        var fixtures = FindFixtures();
        _ultraFace = VisionModel.Open(Path.Combine(fixtures, "models", "ultraface-rfb320", "version-RFB-320.onnx"));
        var r = new Random(1);
        var px = new byte[320 * 240 * 3];
        r.NextBytes(px);
        _input = new Preprocessing(3, 240, 320, [127f], [128f], 1f).Apply(new ImagePixels(320, 240, 3, px));
        // base_net.1.3: pointwise 16→32 at 120×160 is the widest; the 3×3 branch convs at 30×40 the deepest. Use a 3×3 32→32 at 60×80.
        _convX = NdArray.Of(Random(32 * 60 * 80, r), 1, 32, 60, 80);
        _convW = NdArray.Of(Random(32 * 32 * 9, r), 32, 32, 3, 3);
        _convB = NdArray.Of(Random(32, r), 32);
        _win = new Window2D(3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    }

    static float[] Random(int n, Random r) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();

    static string FindFixtures()
    {
        var env = Environment.GetEnvironmentVariable("MODELVIS_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "shared", "fixtures", "README.md"))) return Path.Combine(d.FullName, "shared", "fixtures");
        throw new DirectoryNotFoundException("shared/fixtures not found; set MODELVIS_FIXTURES");
    }

    [Benchmark(Description = "UltraFace 320x240: all feature maps")]
    public int UltraFaceAllFeatureMaps() => _ultraFace.Run(_input, captureAll: true).Layers.Count;

    [Benchmark(Description = "UltraFace 320x240: outputs only")]
    public int UltraFaceOutputsOnly() => _ultraFace.Run(_input, captureAll: false).Outputs.Count;

    [Benchmark(Description = "conv 3x3 32->32 @60x80: im2col+GEMM (Vector512, parallel)")]
    public float ConvVectorised() => Conv.Forward(_convX, _convW, _convB, _win, 1).Floats[0];

    [Benchmark(Baseline = true, Description = "conv 3x3 32->32 @60x80: direct scalar loop")]
    public float ConvDirectScalar()
    {
        var x = _convX.Floats; var w = _convW.Floats; var b = _convB.Floats;
        const int c = 32, h = 60, wd = 80, m = 32;
        var y = new float[m * h * wd];
        for (int o = 0; o < m; o++)
            for (int oy = 0; oy < h; oy++)
                for (int ox = 0; ox < wd; ox++)
                {
                    float s = b[o];
                    for (int ci = 0; ci < c; ci++)
                        for (int ky = 0; ky < 3; ky++)
                        {
                            int iy = oy + ky - 1;
                            if ((uint)iy >= h) continue;
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int ix = ox + kx - 1;
                                if ((uint)ix >= wd) continue;
                                s += x[(ci * h + iy) * wd + ix] * w[((o * c + ci) * 3 + ky) * 3 + kx];
                            }
                        }
                    y[(o * h + oy) * wd + ox] = s;
                }
        return y[0];
    }
}
