using System.CommandLine;
using ModelVis.Checkpoints;
using ModelVis.Host.Browser;

namespace ModelVis.Cli.Verbs;

/// <summary><c>inspect --model PATH [--tensor NAME] [--json]</c>: the tensor list, or one tensor's statistics and histogram.</summary>
static class InspectVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint file or model folder", Required = true };
        var tensor = new Option<string?>("--tensor") { Description = "One tensor's name: print its statistics and histogram" };
        var bins = new Option<int>("--bins") { Description = "Histogram bins", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("inspect", "List a checkpoint's tensors, or show one tensor's statistics") { model, tensor, bins, json };
        cmd.SetAction(parse =>
        {
            var path = Path.GetFullPath(parse.GetValue(model)!);
            using var ckpt = CheckpointLoader.Open(path);
            var name = parse.GetValue(tensor);
            if (name is null)
            {
                var list = ckpt.Tensors.Select(t => new { name = t.Name, dtype = t.DType.Name(), shape = t.Shape, file = t.File }).ToArray();
                if (parse.GetValue(json)) CliRunner.WriteJson(list);
                else
                {
                    foreach (var t in ckpt.Tensors) Console.WriteLine($"{t.Name}\t{t.DType.Name()}\t{t.ShapeText}\t{Path.GetFileName(t.File)}");
                    Console.Error.WriteLine($"{ckpt.Tensors.Count} tensors, {ckpt.Tensors.Sum(t => t.ElementCount):N0} parameters");
                }
                return 0;
            }
            var info = TensorViews.Inspect(ckpt, name, parse.GetValue(bins));
            if (parse.GetValue(json)) CliRunner.WriteJson(info);
            else if (info.Stats is { } s)
            {
                Console.WriteLine($"{info.Name}  {info.Dtype} [{string.Join(", ", info.Shape)}]  {info.Parameters:N0} values  ({Path.GetFileName(info.File)})");
                Console.WriteLine($"min {s.Min:G6}  max {s.Max:G6}  mean {s.Mean:G6}  std {s.Std:G6}");
                Console.WriteLine($"zeros {s.Zeros:N0} ({s.ZeroFraction:P2})  NaN {s.Nan:N0}  Inf {s.Inf:N0}");
                if (info.Note is { } note) Console.WriteLine(note);
            }
            else Console.WriteLine($"{info.Name}  {info.Dtype} [{string.Join(", ", info.Shape)}]  {info.Note}");
            return 0;
        });
        return cmd;
    }
}
