using System.CommandLine;
using ModelVis.Render;
using ModelVis.Vision;

namespace ModelVis.Cli.Verbs;

/// <summary><c>render features</c>: one layer's feature maps, every channel, as a grid in one PNG.</summary>
static class RenderFeaturesVerb
{
    public static Command Create()
    {
        var o = new VisionOptions();
        var layer = new Option<string>("--layer") { Description = "Layer name (sidecar layer, or ONNX node output); 'first' or 'last' pick the first/last feature-map layer", Required = true };
        var output = new Option<string>("--out") { Description = "PNG file to write", Required = true };
        var colormap = new Option<string>("--colormap") { Description = "viridis, magma, gray or rdbu", DefaultValueFactory = _ => "viridis" };
        var scaling = new Option<string>("--scaling") { Description = "channel (each map stretched to its own min..max) or layer (one scale for all)", DefaultValueFactory = _ => "channel" };
        var sort = new Option<bool>("--sort") { Description = "Order channels by mean activation, highest first" };
        var cmd = new Command("features", "Render one layer's feature maps (all channels) as a grid PNG") { layer, output, colormap, scaling, sort };
        o.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var (model, run) = o.Run(parse);
            var name = parse.GetValue(layer)!;
            var maps = run.Layers.Where(l => l.IsFeatureMap).ToList();
            var chosen = name switch
            {
                "first" => maps.FirstOrDefault(),
                "last" => maps.LastOrDefault(),
                _ => run.Layer(name),
            } ?? throw new VisionException("the model has no layer with [C, H, W] feature maps");
            if (!chosen.IsFeatureMap)
                throw new VisionException($"layer {chosen.Name} has shape [{string.Join(", ", chosen.Shape)}], not [C, H, W] feature maps (feature-map layers: {string.Join(", ", maps.Select(m => m.Name).Take(20))})");
            var (png, info) = Draw(chosen, parse.GetValue(colormap)!, parse.GetValue(scaling)!, parse.GetValue(sort));
            var outPath = parse.GetValue(output)!;
            File.WriteAllBytes(outPath, png);
            CliRunner.WriteJson(new { Out = outPath, Layer = chosen.Name, chosen.OpType, chosen.Shape, info.Columns, info.Rows, info.CellWidth, info.CellHeight, info.Order, info.Scaling, info.Low, info.High, Top5 = run.Top5 });
            return 0;
        });
        return cmd;
    }

    public sealed record SheetInfo(int Columns, int Rows, int CellWidth, int CellHeight, int[] Order, string Scaling, float Low, float High);

    public static (byte[] Png, SheetInfo Info) Draw(LayerOutput layer, string colormap, string scaling, bool sortByMean)
    {
        var grid = FeatureGrid.Prepare(layer, scaling, sortByMean);
        var sheet = SpriteSheet.FromMaps(grid.Maps, grid.Height, grid.Width, ColorScale.Fixed(grid.Low, grid.High, colormap), maxSize: 1024, gap: 1);
        return (sheet.ToPng(), new SheetInfo(sheet.Columns, sheet.Rows, sheet.CellWidth, sheet.CellHeight, grid.Order, grid.Scaling, grid.Low, grid.High));
    }
}
