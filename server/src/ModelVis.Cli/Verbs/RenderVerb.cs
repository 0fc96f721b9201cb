using System.CommandLine;
using ModelVis.Checkpoints;
using ModelVis.Host.Browser;

namespace ModelVis.Cli.Verbs;

/// <summary><c>render</c>: pictures to PNG files. Subcommands: <c>tensor</c> (a heatmap of one tensor), <c>attention</c> (figures, <see cref="RenderAttentionVerb"/>), <c>features</c> (<see cref="RenderFeaturesVerb"/>).</summary>
static class RenderVerb
{
    public static Command Create() => new("render", "Render pictures to PNG files") { TensorCommand(), RenderAttentionVerb.Create(), RenderFeaturesVerb.Create() };

    static Command TensorCommand()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint file or model folder", Required = true };
        var tensor = new Option<string>("--tensor") { Description = "Tensor name", Required = true };
        var output = new Option<string>("--out") { Description = "PNG file to write", Required = true };
        var maxSize = new Option<int>("--max-size") { Description = "Largest side in pixels (bigger tensors are block-reduced)", DefaultValueFactory = _ => 512 };
        var reduce = new Option<string>("--reduce") { Description = "How blocks are reduced: maxabs or mean", DefaultValueFactory = _ => "maxabs" };
        var colormap = new Option<string>("--colormap") { Description = "rdbu (diverging, centred at zero), viridis, magma, gray", DefaultValueFactory = _ => "rdbu" };
        var json = new Option<bool>("--json") { Description = "Print what was drawn (layout, downsampling, colour scale) as JSON" };
        var cmd = new Command("tensor", "Heatmap of one tensor, with a diverging colormap centred at zero") { model, tensor, output, maxSize, reduce, colormap, json };
        cmd.SetAction(parse =>
        {
            using var ckpt = CheckpointLoader.Open(Path.GetFullPath(parse.GetValue(model)!));
            var (dto, png) = TensorViews.Image(ckpt, parse.GetValue(tensor)!, parse.GetValue(maxSize), parse.GetValue(reduce), parse.GetValue(colormap));
            var outPath = parse.GetValue(output)!;
            File.WriteAllBytes(outPath, png);
            if (parse.GetValue(json)) CliRunner.WriteJson(dto with { Png = outPath });
            else Console.WriteLine(outPath);
            Console.Error.WriteLine($"{dto.Width}×{dto.Height} {dto.Layout}{(dto.Note is null ? "" : "; " + dto.Note)}");
            return 0;
        });
        return cmd;
    }
}
