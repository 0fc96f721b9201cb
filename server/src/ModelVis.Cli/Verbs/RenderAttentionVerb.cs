using System.CommandLine;
using ModelVis.Models;
using ModelVis.Render.Figures;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>render attention --model DIR (--text … | --ids …) --layer L|all [--head H] --out FIG.png [--theme light|dark]</c>:
/// a figure for a paper. One head: the heatmap with its token labels (queries down, keys across), title and colour bar.
/// <c>--layer all</c>: the model view, every layer × head as a labelled grid of thumbnails.
/// </summary>
static class RenderAttentionVerb
{
    public static Command Create()
    {
        var source = new ModelInputOptions();
        var layer = new Option<string>("--layer") { Description = "Layer index, or 'all' for the model view grid", Required = true };
        var head = new Option<int?>("--head") { Description = "Head index (required unless --layer all)" };
        var output = new Option<string>("--out") { Description = "PNG file to write", Required = true };
        var theme = new Option<string>("--theme") { Description = "light or dark", DefaultValueFactory = _ => "light" };
        var colormap = new Option<string>("--colormap") { Description = "viridis, magma or gray", DefaultValueFactory = _ => "viridis" };
        var scale = new Option<float>("--scale") { Description = "Pixels per point (2 = print resolution)", DefaultValueFactory = _ => 2f };
        var cmd = new Command("attention", "Draw an attention figure (one head with token labels and colour bar, or --layer all: every layer × head) to PNG")
            { layer, head, output, theme, colormap, scale };
        source.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var dir = source.Folder(parse);
            var figureTheme = FigureTheme.Get(parse.GetValue(theme)!);
            float pixels = parse.GetValue(scale);
            if (pixels is < 0.5f or > 4f) throw new ModelException("--scale must be between 0.5 and 4");
            var input = CaptureVerb.ReadInput(dir, parse.GetValue(source.Text), parse.GetValue(source.Ids));
            var (tokens, named) = Labels(dir, input.Ids);
            using var lm = ModelLoader.Load(dir);
            int layers = lm.Config.Layers, heads = lm.Config.Heads, n = input.Length;
            string name = Path.GetFileName(dir);
            string which = parse.GetValue(layer)!;
            string excerpt = FigureLabels.Excerpt(parse.GetValue(source.Text) ?? (named ? string.Concat(tokens) : "ids " + string.Join(",", input.Ids)));
            Figure figure;
            if (which == "all")
            {
                var result = lm.Forward(input, new CaptureRequest(Enumerable.Range(0, layers).ToHashSet(), Logits: false));
                var maps = new List<float[]>();
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < heads; h++) maps.Add(result.Attentions[l].Data.AsSpan(h * n * n, n * n).ToArray());
                figure = AttentionFigure.Grid(maps, layers, heads, n, $"{name} — attention, {layers} layers × {heads} heads",
                    $"{n} tokens {excerpt} · rows = queries, columns = keys · each head scaled to its maximum", figureTheme, parse.GetValue(colormap)!, pixels);
            }
            else
            {
                if (!int.TryParse(which, out int l) || l < 0 || l >= layers) throw new ModelException($"--layer {which}: the model has layers 0 to {layers - 1} (or 'all')");
                int h = parse.GetValue(head) ?? throw new ModelException("--head is required with one layer (or use --layer all)");
                if (h < 0 || h >= heads) throw new ModelException($"--head {h}: the model has heads 0 to {heads - 1}");
                var result = lm.Forward(input, new CaptureRequest(new HashSet<int> { l }, Logits: false));
                var values = result.Attentions[l].Data.AsSpan(h * n * n, n * n);
                figure = AttentionFigure.Head(values, n, tokens, $"{name} — layer {l}, head {h}",
                    $"{n} tokens {excerpt} · attention probability, row = query, column = key", figureTheme, parse.GetValue(colormap)!, pixels);
            }
            var outPath = Path.GetFullPath(parse.GetValue(output)!);
            File.WriteAllBytes(outPath, figure.ToPng());
            CliRunner.WriteJson(new { Out = outPath, Layer = which, Head = parse.GetValue(head), Tokens = n, figure.Image.Width, figure.Image.Height, figure.Layout.LabelEvery, Theme = figureTheme.Name });
            return 0;
        });
        return cmd;
    }

    /// <summary>Readable tokens (Ġ and ▁ as spaces) from the folder's tokenizer, or the ids themselves when it has none.</summary>
    static (string[] Labels, bool FromTokenizer) Labels(string dir, int[] ids)
    {
        Tokenizer tokenizer;
        try { tokenizer = ModelTokenizer.Open(dir); }
        catch (TokenizerException) { return (ids.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), false); }
        return (ids.Select(i => tokenizer.IdToToken(i) is { } t ? tokenizer.Readable(t) : $"<{i}>").ToArray(), true);
    }
}
