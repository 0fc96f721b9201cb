using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// A language model's forward written on the autodiff tape (<see cref="Tape{T}"/>), for gradients with respect to the
/// input: it starts from the token-embedding rows e [n, d] — the only variables — and adds positions, token types and
/// norms exactly as the inference family does, with every weight a constant (a tied unembedding included). It reads the
/// same checkpoint tensors, by the same names, as the inference family; its float forward agrees with it to rounding.
/// Families: GPT-2, BERT (bert, roberta, distilbert), the rotary decoders (Llama, Mistral, Qwen2, Qwen3, Phi-3, OLMo 2,
/// Gemma 2, Gemma 3), GPT-NeoX and T5 (its encoder's token rows are the variables; the position is a decoder position).
/// </summary>
public abstract class DifferentiableModel : IDisposable
{
    readonly ICheckpoint _checkpoint;

    private protected DifferentiableModel(ModelConfig config, ICheckpoint checkpoint)
    {
        Config = config;
        _checkpoint = checkpoint;
    }

    public ModelConfig Config { get; }

    /// <summary>The token-embedding rows e_i = W_E[ids_i] [ids.Length, d], before anything is added to them or normalised.</summary>
    public abstract float[] EmbeddingRows(IReadOnlyList<int> ids);

    /// <summary>
    /// logits[position, tokens[j]] of <paramref name="batch"/> passes at once, [batch, tokens.Length]: pass b reads the
    /// token-embedding rows b·n .. b·n + n − 1 of <paramref name="e"/> [batch·n, d]; everything else (positions, token
    /// types, the attention mask) comes from <paramref name="input"/>. Only the rows at <paramref name="position"/> go
    /// through the output head.
    /// </summary>
    public abstract Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens);

    /// <summary>
    /// True for a left-to-right decoder-only model: a token after the position cannot change its logits. Not T5: its
    /// variables are the encoder's tokens, which the decoder reads all of.
    /// </summary>
    public bool IsCausal => Config.IsCausal && !Config.IsEncoderDecoder;

    /// <summary>
    /// Opens a Hugging Face model folder for gradients. Families without a differentiable forward and folders without an
    /// output head throw <see cref="ModelException"/> with what is supported.
    /// </summary>
    public static DifferentiableModel Load(string dir)
    {
        if (GgufModel.IsGguf(dir)) throw new ModelException($"{Path.GetFileName(dir)}: gradients need a Hugging Face model folder (config.json and safetensors or PyTorch weights), not a GGUF file");
        if (File.Exists(dir) && Path.GetFileName(dir) == "config.json") dir = Path.GetDirectoryName(Path.GetFullPath(dir))!;
        if (!Directory.Exists(dir)) throw new ModelException($"{dir}: no such model folder");
        var config = ModelConfig.FromFolder(dir);
        var checkpoint = CheckpointLoader.Open(dir);
        try
        {
            var w = new Weights(checkpoint, config.ModelType);
            return config.Family switch
            {
                ModelFamily.Gpt2 => new DifferentiableGpt2(config, checkpoint, w),
                ModelFamily.Bert => new DifferentiableBert(config, checkpoint, w),
                ModelFamily.Llama => new DifferentiableLlama(config, checkpoint, w),
                ModelFamily.Qwen3 => new DifferentiableQwen3(config, checkpoint, w),
                ModelFamily.Phi3 => new DifferentiablePhi3(config, checkpoint, w),
                ModelFamily.Olmo2 => new DifferentiableOlmo2(config, checkpoint, w),
                ModelFamily.Gemma2 => new DifferentiableGemma2(config, checkpoint, w),
                ModelFamily.Gemma3 => new DifferentiableGemma3(config, checkpoint, w),
                ModelFamily.GptNeoX => new DifferentiableGptNeoX(config, checkpoint, w),
                ModelFamily.T5 => new DifferentiableT5(config, checkpoint, w),
                _ => throw new ModelException($"gradient attribution does not support \"{config.ModelType}\""),
            };
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _checkpoint.Dispose();
        GC.SuppressFinalize(this);
    }

    // ---------------------------------------------------------------- pieces the families share

    private protected static Var<float> Constant(float[] data, params int[] shape) => new(data, shape);

    /// <summary>
    /// The token embedding (under <paramref name="prefix"/>) and the output head: the top-level <paramref name="head"/> when the
    /// config unties it and the checkpoint stores it, else the embedding itself (tied), as the engine's TokenEmbedding decides.
    /// </summary>
    private protected static (Weights Tokens, Weights Head, string HeadName) Unembedding(ModelConfig config, ICheckpoint checkpoint, string prefix,
        string embedding, string head)
    {
        var tokens = new Weights(checkpoint, config.ModelType, prefix);
        bool untied = !config.TieWordEmbeddings && checkpoint.TryGet(head, out _);
        return untied ? (tokens, new Weights(checkpoint, config.ModelType), head) : (tokens, tokens, embedding);
    }

    /// <summary>An nn.Linear weight [out, in] as a constant.</summary>
    private protected static Var<float> LinearWeight(Weights w, string name, int outFeatures, int inFeatures) =>
        Constant(w.Floats(name, outFeatures, inFeatures), outFeatures, inFeatures);

    private protected static Var<float>? OptionalVector(Weights w, string name, int length) =>
        w.OptionalFloats(name, length) is { } v ? Constant(v, length) : null;

    private protected static Var<float> Vector(Weights w, string name, int length) => Constant(w.Floats(name, length), length);

    /// <summary>Rows b·n + position of h [batch·n, d]: the rows the output head reads.</summary>
    private protected static Var<float> RowsAt(Tape<float> tape, Var<float> h, int batch, int n, int position)
    {
        if ((uint)position >= (uint)n) throw new ModelException($"position {position} is outside the {n} tokens");
        return tape.Embedding(h, Enumerable.Range(0, batch).Select(b => b * n + position).ToArray());   // a gather of rows
    }

    /// <summary>A rotary table over the config's rotary dimension with base <paramref name="theta"/>: the engine's, so the angles agree.</summary>
    private protected Rotary NewRotary(double theta, RopeScaling? scaling)
    {
        try { return new Rotary(Config.RotaryDim, theta, Config.MaxPositions, scaling); }
        catch (ArgumentException e) { throw new ModelException($"{Config.ModelType}: {e.Message}", e); }
    }

    /// <summary>The family's activation (config hidden_act) on the tape.</summary>
    private protected Var<float> Activation(Tape<float> tape, Var<float> x) => Config.Activation switch
    {
        "gelu" => tape.Gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => tape.GeluTanh(x),
        "silu" or "swish" => tape.Silu(x),
        "relu" => tape.Relu(x),
        _ => throw new ModelException($"gradients through the activation \"{Config.Activation}\" are not implemented"),
    };

    /// <summary>
    /// The engine's attention mask of layer <paramref name="layer"/> for one sequence of <paramref name="input"/>: padding
    /// only when some key is padding, the sliding window only on the layers that slide.
    /// </summary>
    private protected AttentionMask MaskOf(ForwardInput input, int layer)
    {
        bool slides = Config.SlidingLayers is not { } sliding || sliding[layer];
        return new(Config.IsCausal, input.AttentionMask is { } m && m.Contains(0) ? m : null, slides ? Config.SlidingWindow : 0);
    }

    private protected void CheckInput(Var<float> e, int batch, ForwardInput input)
    {
        int n = input.Ids.Length;
        if (n == 0) throw new ModelException("no tokens to differentiate");
        if (e.Rows != batch * n || e.Cols != Config.Hidden)
            throw new ArgumentException($"token-embedding rows {e} do not fit {batch} passes of {n} tokens × {Config.Hidden}");
    }
}
