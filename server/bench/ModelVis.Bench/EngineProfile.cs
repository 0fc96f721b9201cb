using System.Diagnostics;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary><c>engine-profile</c>: times each kernel of one layer at the shapes of the 135 M Llama over 2,048 tokens.</summary>
public static class EngineProfile
{
    public static int Run(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1]) : 2048;
        const int d = 576, heads = 9, kv = 3, hd = 64, I = 1536, V = 49152;
        var rng = new Random(1);
        float[] R(long count) { var x = new float[count]; for (long i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() - 0.5) * 0.1f; return x; }
        var x = R((long)n * d);
        int width = (heads + 2 * kv) * hd;
        var qkvW = PackedMatrix.FromTransposed(R(width * d), width, d);
        var oW = PackedMatrix.FromTransposed(R(d * d), d, d);
        var guW = PackedMatrix.FromTransposed(R(2 * I * d), 2 * I, d);
        var downW = PackedMatrix.FromTransposed(R(d * I), d, I);
        var head = PackedMatrix.FromTransposed(R((long)V * d), V, d);
        var qkv = new float[n * width];
        var ctx = new float[n * d];
        var gu = new float[n * 2 * I];
        var act = new float[n * I];
        var probs = new float[heads * n * n];
        var logits = new float[(long)n * V];
        var g = R(d);
        var rotary = new Rotary(hd, 10000, 2048);
        var (cos, sin) = rotary.Tables(n);

        void Time(string name, double flops, Action a)
        {
            a();
            var times = new List<double>();
            for (int r = 0; r < 5; r++) { var sw = Stopwatch.StartNew(); a(); times.Add(sw.Elapsed.TotalMilliseconds); }
            double ms = times.Order().ElementAt(2);
            Console.WriteLine($"{name,-28} {ms,9:F2} ms {(flops > 0 ? $"{flops / ms / 1e6,6:F0} GFLOP/s" : "")}");
        }
        Time("rmsnorm", 0, () => Norms.RmsNorm(x, n, d, g, 1e-5f, ctx));
        Time("qkv linear", 2.0 * n * d * width, () => MatMul.Multiply(x, n, qkvW, qkv));
        Time("rotary q+k", 0, () => { rotary.Apply(qkv, n, width, 0, heads, cos, sin); rotary.Apply(qkv, n, width, heads * hd, kv, cos, sin); });
        Time("attention (+probs)", 2.0 * n * n * hd * heads, () => Attention.Compute(qkv, n, width, 0, heads * hd, (heads + kv) * hd, heads, kv, hd, 8f, new AttentionMask(true), ctx, probs));
        Time("attention (no probs)", 2.0 * n * n * hd * heads, () => Attention.Compute(qkv, n, width, 0, heads * hd, (heads + kv) * hd, heads, kv, hd, 8f, new AttentionMask(true), ctx, default));
        Time("attention (no probs) again", 2.0 * n * n * hd * heads, () => Attention.Compute(qkv, n, width, 0, heads * hd, (heads + kv) * hd, heads, kv, hd, 8f, new AttentionMask(true), ctx, default));
        Time("o linear", 2.0 * n * d * d, () => MatMul.Multiply(ctx, n, oW, x));
        Time("gate|up linear", 2.0 * n * d * 2 * I, () => MatMul.Multiply(x, n, guW, gu));
        Time("silu*up", 0, () => Activations.SiluGate(gu, n, I, act));
        Time("gelu tanh (n × 2I)", 0, () => Activations.GeluTanh(gu));
        Time("down linear", 2.0 * n * I * d, () => MatMul.Multiply(act, n, downW, x));
        Time("head", 2.0 * n * d * V, () => MatMul.Multiply(x, n, head, logits));
        Time("gelu exact (n × 2I)", 0, () => Activations.GeluExact(gu));
        Time("layernorm", 0, () => Norms.LayerNorm(x, n, d, g, g, 1e-5f, ctx));
        return 0;
    }
}
