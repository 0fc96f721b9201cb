using System.Text.Json.Nodes;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// T5 variants no fixture case covers (T5 v1.1 / flan-t5: gated-GELU feed-forward, untied head), against a plain
/// double-precision forward written here from the equations in T5.cs's doc comment. The same forward is first held
/// against the tiny-t5 reference (ReLU, tied), so it is known to compute T5 before it judges the variants.
/// </summary>
public class T5ReferenceTests
{
    sealed class Naive(SafetensorsFile file, JsonObject config)
    {
        readonly int d = (int)config["d_model"]!, H = (int)config["num_heads"]!, dkv = (int)config["d_kv"]!;
        readonly int buckets = (int)config["relative_attention_num_buckets"]!, maxDistance = (int)config["relative_attention_max_distance"]!;
        readonly double eps = (double)config["layer_norm_epsilon"]!;
        readonly bool gated = ((string)config["feed_forward_proj"]!).StartsWith("gated-");
        readonly bool tied = config["tie_word_embeddings"] is null || (bool)config["tie_word_embeddings"]!;

        float[] W(string name) => file.ReadFloats(file.Tensors.First(t => t.Name == name));

        double[][] Rows(float[] table, int[] ids) => ids.Select(i => Enumerable.Range(0, d).Select(j => (double)table[i * d + j]).ToArray()).ToArray();

        double[][] Rms(double[][] h, string gain)
        {
            var g = W(gain);
            return h.Select(r =>
            {
                double inv = 1 / Math.Sqrt(r.Sum(x => x * x) / r.Length + eps);
                return r.Select((x, j) => x * inv * g[j]).ToArray();
            }).ToArray();
        }

        /// <summary>x · Wᵀ for an nn.Linear weight W [out, in].</summary>
        double[][] Linear(double[][] x, string name)
        {
            var w = W(name);
            int inF = x[0].Length, outF = w.Length / inF;
            return x.Select(r => Enumerable.Range(0, outF).Select(o => { double s = 0; for (int i = 0; i < inF; i++) s += r[i] * w[o * inF + i]; return s; }).ToArray()).ToArray();
        }

        static double[][] Add(double[][] a, double[][] b) => a.Select((r, i) => r.Select((x, j) => x + b[i][j]).ToArray()).ToArray();

        static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

        double[][] FeedForward(double[][] x, string p)
        {
            double[][] u;
            if (gated)
            {
                var gate = Linear(x, p + "DenseReluDense.wi_0.weight");
                var up = Linear(x, p + "DenseReluDense.wi_1.weight");
                u = gate.Select((r, i) => r.Select((g, j) => GeluTanh(g) * up[i][j]).ToArray()).ToArray();
            }
            else u = Linear(x, p + "DenseReluDense.wi.weight").Select(r => r.Select(a => Math.Max(a, 0)).ToArray()).ToArray();
            return Linear(u, p + "DenseReluDense.wo.weight");
        }

        public double[] Logits(int[] ids, int[] decoderIds)
        {
            var shared = W("shared.weight");
            int Le = (int)config["num_layers"]!, Ld = (int?)config["num_decoder_layers"] ?? Le, V = shared.Length / d;
            var encTable = W("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
            var decTable = W("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
            var h = Rows(shared, ids);
            for (int l = 0; l < Le; l++)
            {
                string p = $"encoder.block.{l}.layer.";
                h = Add(h, Attention(Rms(h, p + "0.layer_norm.weight"), null, p + "0.SelfAttention.", encTable, true, (_, _) => true));
                h = Add(h, FeedForward(Rms(h, p + "1.layer_norm.weight"), p + "1."));
            }
            var e = Rms(h, "encoder.final_layer_norm.weight");
            h = Rows(shared, decoderIds);
            for (int l = 0; l < Ld; l++)
            {
                string p = $"decoder.block.{l}.layer.";
                h = Add(h, Attention(Rms(h, p + "0.layer_norm.weight"), null, p + "0.SelfAttention.", decTable, false, (i, j) => j <= i));
                h = Add(h, Attention(Rms(h, p + "1.layer_norm.weight"), e, p + "1.EncDecAttention.", null, true, (_, _) => true));
                h = Add(h, FeedForward(Rms(h, p + "2.layer_norm.weight"), p + "2."));
            }
            h = Rms(h, "decoder.final_layer_norm.weight");
            var head = tied ? shared : W("lm_head.weight");
            double scale = tied ? Math.Pow(d, -0.5) : 1;
            var logits = new double[h.Length * V];
            for (int i = 0; i < h.Length; i++)
                for (int o = 0; o < V; o++)
                {
                    double s = 0;
                    for (int c = 0; c < d; c++) s += h[i][c] * scale * head[o * d + c];
                    logits[i * V + o] = s;
                }
            return logits;
        }

        /// <summary>o(softmax(q·kᵀ + bias) · v), no 1/√d_kv; bias[h, i, j] = table[bucket(j − i), h] when a table is given (self-attention).</summary>
        double[][] Attention(double[][] x, double[][]? kv, string p, float[]? table, bool bidirectional, Func<int, int, bool> allowed)
        {
            kv ??= x;
            var q = Linear(x, p + "q.weight");
            var k = Linear(kv, p + "k.weight");
            var v = Linear(kv, p + "v.weight");
            var context = x.Select(_ => new double[H * dkv]).ToArray();
            for (int h = 0; h < H; h++)
                for (int i = 0; i < x.Length; i++)
                {
                    var s = new double[kv.Length];
                    for (int j = 0; j < kv.Length; j++)
                    {
                        if (!allowed(i, j)) { s[j] = double.NegativeInfinity; continue; }
                        double dot = 0;
                        for (int c = 0; c < dkv; c++) dot += q[i][h * dkv + c] * k[j][h * dkv + c];
                        s[j] = dot + (table is null ? 0 : table[T5.RelativePositionBucket(j - i, bidirectional, buckets, maxDistance) * H + h]);
                    }
                    double max = s.Max(), sum = 0;
                    for (int j = 0; j < s.Length; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int j = 0; j < s.Length; j++)
                        for (int c = 0; c < dkv; c++) context[i][h * dkv + c] += s[j] / sum * v[j][h * dkv + c];
                }
            return Linear(context, p + "o.weight");
        }
    }

    static (int[] Ids, int[] DecoderIds) Case(string name)
    {
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", name + ".safetensors"));
        return (ConformanceTests.Ints(expected, "input_ids"), ConformanceTests.Ints(expected, "decoder_input_ids"));
    }

    static double MaxDiff(double[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }

    [Fact]
    public void The_naive_forward_reproduces_the_tiny_t5_reference()
    {
        var (ids, dec) = Case("enc7_dec5");
        var folder = Fixtures.Model("tiny-t5");
        using var file = new SafetensorsFile(Path.Combine(folder, "model.safetensors"));
        var naive = new Naive(file, JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject()).Logits(ids, dec);
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc7_dec5.safetensors"));
        Assert.True(MaxDiff(naive, expected.ReadFloats(expected.Tensors.First(t => t.Name == "logits"))) < 1e-4);
    }

    /// <summary>
    /// flan-t5's shape: feed_forward_proj "gated-gelu" (wi_0 through the tanh GELU, times wi_1) and an untied lm_head
    /// without the rescale; tiny-t5's weights with wi_0 = wi, wi_1 = wi's rows reversed, lm_head = shared's rows reversed.
    /// </summary>
    [Fact]
    public void Gated_gelu_and_untied_head_match_the_naive_forward()
    {
        using var dir = new Fixtures.TempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Model("tiny-t5"), "config.json")))!.AsObject();
        config["feed_forward_proj"] = "gated-gelu";
        config["dense_act_fn"] = "gelu_new";
        config["is_gated_act"] = true;
        config["tie_word_embeddings"] = false;
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        using (var source = new SafetensorsFile(Path.Combine(Fixtures.Model("tiny-t5"), "model.safetensors")))
        {
            var writer = new SafetensorsWriter();
            foreach (var t in source.Tensors)
            {
                var values = source.ReadFloats(t);
                var shape = t.Shape.ToArray();
                if (t.Name.EndsWith(".DenseReluDense.wi.weight", StringComparison.Ordinal))
                {
                    writer.Add(t.Name.Replace(".wi.", ".wi_0."), values, shape);
                    writer.Add(t.Name.Replace(".wi.", ".wi_1."), ReversedRows(values, (int)shape[0]), shape);
                }
                else writer.Add(t.Name, values, shape);
                if (t.Name == "shared.weight") writer.Add("lm_head.weight", ReversedRows(values, (int)shape[0]), shape);
            }
            writer.Save(dir.File("model.safetensors"));
        }
        var (ids, dec) = Case("enc40_dec12");
        using var model = ModelLoader.Load(dir.Path);
        Assert.True(model.Config.GatedMlp);
        var logits = model.Forward(new ForwardInput(ids, DecoderIds: dec), CaptureRequest.LogitsOnly).Logits!.Data;
        using var file = new SafetensorsFile(dir.File("model.safetensors"));
        var naive = new Naive(file, config).Logits(ids, dec);
        double diff = MaxDiff(naive, logits);
        Assert.True(diff < 1e-4, $"max |diff| {diff:E3}");
        // And the variant really differs from the fixture's model (a test that would pass on the ReLU path would be void).
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc40_dec12.safetensors"));
        Assert.True(MaxDiff(naive, expected.ReadFloats(expected.Tensors.First(t => t.Name == "logits"))) > 1e-2);
    }

    /// <summary>Keeps what the decoder's hooks see: the residual entering each block, and which blocks' self- and cross-attention z came by.</summary>
    sealed class DecoderRecorder : ForwardHooks
    {
        public readonly Dictionary<int, float[]> Residuals = [];
        public readonly List<int> SelfZ = [], CrossZ = [], Mlp = [];
        public override void Residual(int layer, float[] h, int n) => Residuals[layer] = (float[])h.Clone();
        public override void HeadOutputs(int layer, float[] z, int n) => SelfZ.Add(layer);
        public override void CrossHeadOutputs(int layer, float[] z, int n) => CrossZ.Add(layer);
        public override void MlpOutput(int layer, float[] output, int n) => Mlp.Add(layer);
    }

    /// <summary>
    /// The circuits hooks see T5's decoder (the residual entering each block is the reference's decoder_hidden_states,
    /// the self- and cross-attention z and the feed-forward output of every block); resuming at a layer is refused by name.
    /// </summary>
    [Fact]
    public void Forward_hooks_see_the_decoder_and_resuming_at_a_layer_is_refused_with_a_reason()
    {
        var (ids, dec) = Case("enc7_dec5");
        using var model = ModelLoader.Load(Fixtures.Model("tiny-t5"));
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc7_dec5.safetensors"));
        var input = new ForwardInput(ids, DecoderIds: dec);
        var recorder = new DecoderRecorder();
        var hooked = model.Forward(input, CaptureRequest.LogitsOnly, hooks: recorder);
        int L = model.Config.Layers;
        for (int l = 0; l < L; l++)
        {
            double diff = MaxDiff(recorder.Residuals[l].Select(v => (double)v).ToArray(), expected.ReadFloats($"decoder_hidden_states.{l}"));
            Assert.True(diff < 1e-4, $"decoder residual {l}: max |diff| {diff:E3}");
        }
        Assert.Equal(Enumerable.Range(0, L), recorder.SelfZ);
        Assert.Equal(Enumerable.Range(0, L), recorder.CrossZ);
        Assert.Equal(Enumerable.Range(0, L), recorder.Mlp);
        Assert.Equal(model.Forward(input, CaptureRequest.LogitsOnly).Logits!.Data, hooked.Logits!.Data);
        var resumed = Assert.Throws<ModelException>(() => model.ForwardFrom(0, new float[dec.Length * model.Config.Hidden], input));
        Assert.Contains("encoder-decoder", resumed.Message);
    }

    static float[] ReversedRows(float[] values, int rows)
    {
        int cols = values.Length / rows;
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++) Array.Copy(values, (rows - 1 - r) * cols, result, r * cols, cols);
        return result;
    }
}
