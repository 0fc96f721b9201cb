using System.Text;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// GGUF files written here from the Hugging Face fixtures the way llama.cpp's converter lays them out (names,
/// dimensions innermost first, and for `llama` the q/k rows permuted to adjacent pairs): each must capture exactly
/// what the Hugging Face checkpoint it came from captures. Covers the architectures without a GGUF fixture.
/// </summary>
public class GgufArchitectureTests
{
    static readonly (string Hf, string Gguf)[] LayerNames =
    [
        ("input_layernorm", "attn_norm"), ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"), ("self_attn.o_proj", "attn_output"), ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
        ("self_attn.q_norm", "attn_q_norm"), ("self_attn.k_norm", "attn_k_norm"),
    ];

    static string GgufName(string hf)
    {
        if (hf == "model.embed_tokens.weight") return "token_embd.weight";
        if (hf == "model.norm.weight") return "output_norm.weight";
        if (hf == "lm_head.weight") return "output.weight";
        var parts = hf.Split('.');                       // model.layers.N.<module…>.weight
        string module = string.Join('.', parts[3..^1]);
        return $"blk.{parts[2]}.{LayerNames.Single(n => n.Hf == module).Gguf}.{parts[^1]}";
    }

    /// <summary>HF → llama.cpp row order for q/k: W.reshape(heads, 2, d/2, in).swapaxes(1, 2).</summary>
    static float[] Permute(float[] w, int heads, int rowLength)
    {
        int rows = w.Length / rowLength, headDim = rows / heads, half = headDim / 2;
        var result = new float[w.Length];
        for (int h = 0; h < heads; h++)
            for (int s = 0; s < 2; s++)
                for (int i = 0; i < half; i++)
                    Array.Copy(w, (h * headDim + s * half + i) * rowLength, result, (h * headDim + 2 * i + s) * rowLength, rowLength);
        return result;
    }

    /// <summary>A GGUF v3 file: metadata (strings, u32, f32), F32 tensors, data aligned to 32.</summary>
    static void WriteGguf(string path, IReadOnlyList<(string Key, object Value)> metadata, IReadOnlyList<(string Name, long[] Shape, float[] Data)> tensors)
    {
        using var w = new BinaryWriter(File.Create(path));
        void Str(string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }
        w.Write(Encoding.ASCII.GetBytes("GGUF")); w.Write(3u); w.Write((ulong)tensors.Count); w.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            Str(key);
            switch (value)
            {
                case string s: w.Write(8u); Str(s); break;
                case uint u: w.Write(4u); w.Write(u); break;
                case float f: w.Write(6u); w.Write(f); break;
                default: throw new ArgumentException(key);
            }
        }
        ulong offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            Str(name); w.Write((uint)shape.Length);
            foreach (var d in shape.Reverse()) w.Write((ulong)d);   // innermost first
            w.Write(0u); w.Write(offset);                            // F32
            offset += ((ulong)data.Length * 4 + 31) / 32 * 32;
        }
        w.Write(new byte[(32 - w.BaseStream.Position % 32) % 32]);
        foreach (var (_, _, data) in tensors)
        {
            foreach (var v in data) w.Write(v);
            w.Write(new byte[(32 - data.Length * 4 % 32) % 32]);
        }
    }

    static string FromHuggingFace(string fixture, string arch, string dir, bool permute, bool zeroQkvBiases = false)
    {
        var folder = Fixtures.Model(fixture);
        var c = ConformanceTests.ModelOf(fixture).Config;
        using var ckpt = CheckpointLoader.Open(folder);
        var tensors = new List<(string, long[], float[])>();
        foreach (var t in ckpt.Tensors)
        {
            var data = ckpt.ReadFloats(t);
            if (permute && t.Name.EndsWith("q_proj.weight")) data = Permute(data, c.Heads, c.Hidden);
            if (permute && t.Name.EndsWith("k_proj.weight")) data = Permute(data, c.KvHeads, c.Hidden);
            tensors.Add((GgufName(t.Name), t.Shape, data));
        }
        if (zeroQkvBiases)
            for (int l = 0; l < c.Layers; l++)
                foreach (var (name, width) in new[] { ("attn_q", c.Heads * c.HeadDim), ("attn_k", c.KvHeads * c.HeadDim), ("attn_v", c.KvHeads * c.HeadDim) })
                    tensors.Add(($"blk.{l}.{name}.bias", [width], new float[width]));
        var path = Path.Combine(dir, $"{fixture}-{arch}.gguf");
        WriteGguf(path,
        [
            ("general.architecture", arch), ($"{arch}.context_length", (uint)c.MaxPositions), ($"{arch}.embedding_length", (uint)c.Hidden),
            ($"{arch}.block_count", (uint)c.Layers), ($"{arch}.feed_forward_length", (uint)c.Intermediate),
            ($"{arch}.attention.head_count", (uint)c.Heads), ($"{arch}.attention.head_count_kv", (uint)c.KvHeads),
            ($"{arch}.attention.key_length", (uint)c.HeadDim), ($"{arch}.rope.dimension_count", (uint)c.HeadDim),
            ($"{arch}.rope.freq_base", (float)c.RopeTheta), ($"{arch}.attention.layer_norm_rms_epsilon", c.NormEps),
            ($"{arch}.vocab_size", (uint)c.Vocab),
        ], tensors);
        return path;
    }

    [Theory]
    [InlineData("tiny-llama", "llama", true, false)]    // q/k rows permuted by the converter: undone on read
    [InlineData("tiny-llama", "qwen2", false, true)]    // not permuted; q/k/v biases present (zero here)
    [InlineData("tiny-qwen3", "qwen3", false, false)]   // per-head q/k norms, head_dim ≠ hidden/heads
    public void A_gguf_written_from_a_hub_checkpoint_captures_what_the_checkpoint_captures(string fixture, string arch, bool permute, bool biases)
    {
        var dir = Directory.CreateTempSubdirectory("modelvis-gguf-arch-").FullName;
        try
        {
            var path = FromHuggingFace(fixture, arch, dir, permute, biases);
            var reference = ConformanceTests.ModelOf(fixture);
            using var model = ModelLoader.Load(path);
            Assert.Equal(arch, model.Config.ModelType);
            var ids = new[] { 1, 17, 300, 42, 42, 999, 5, 17, 300, 42 };
            var want = reference.Forward(new ForwardInput(ids), CaptureRequest.All(reference.Config.Layers)).Named().ToDictionary(p => p.Key, p => p.Value);
            var got = model.Forward(new ForwardInput(ids), CaptureRequest.All(model.Config.Layers)).Named().ToDictionary(p => p.Key, p => p.Value);
            Assert.Equal(want.Keys.Order(), got.Keys.Order());
            foreach (var (name, t) in want)
            {
                double worst = 0;
                for (int i = 0; i < t.Data.Length; i++) worst = Math.Max(worst, Math.Abs(t.Data[i] - got[name].Data[i]));
                Assert.True(worst <= 1e-5, $"{arch} from {fixture}: {name} differs by {worst:E2}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void An_unknown_gguf_architecture_is_named_in_the_error()
    {
        var dir = Directory.CreateTempSubdirectory("modelvis-gguf-arch-").FullName;
        try
        {
            var path = Path.Combine(dir, "x.gguf");
            WriteGguf(path, [("general.architecture", "mamba")], []);
            var e = Assert.Throws<ModelException>(() => ModelLoader.Load(path));
            Assert.Contains("\"mamba\" is not supported (supported: llama, qwen2, qwen3)", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
