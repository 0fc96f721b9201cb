using System.CommandLine;
using System.Text.Json;
using ModelVis.Runs;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>compare --a PATH --b PATH [--json]</c>: two checkpoints of one model, tensor by tensor:
/// <c>{"tensors": [{"name", "shape", "rel_change", "max_abs_diff"}...]}</c> sorted by rel_change = ‖A−B‖/‖A‖, largest
/// first, then what could not be compared. What was ignored (a Lightning checkpoint's optimizer state) is said on stderr.
/// </summary>
static class CompareVerb
{
    public static Command Create()
    {
        var a = new Option<string>("--a") { Description = "First checkpoint (file or model folder)", Required = true };
        var b = new Option<string>("--b") { Description = "Second checkpoint (file or model folder)", Required = true };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("compare", "Compare two checkpoints tensor by tensor (relative change, largest difference)") { a, b, json };
        cmd.SetAction((parse, cancel) =>
        {
            var result = CheckpointCompare.Compare(Path.GetFullPath(parse.GetValue(a)!), Path.GetFullPath(parse.GetValue(b)!), cancel);
            foreach (var n in result.Notes) Console.Error.WriteLine($"modelvis: {n}");
            if (result.OnlyInA.Count > 0) Console.Error.WriteLine($"modelvis: {result.OnlyInA.Count} tensors only in A: {string.Join(", ", result.OnlyInA.Take(10))}{(result.OnlyInA.Count > 10 ? ", …" : "")}");
            if (result.OnlyInB.Count > 0) Console.Error.WriteLine($"modelvis: {result.OnlyInB.Count} tensors only in B: {string.Join(", ", result.OnlyInB.Take(10))}{(result.OnlyInB.Count > 10 ? ", …" : "")}");
            foreach (var n in result.NotCompared) Console.Error.WriteLine($"modelvis: not compared: {n}");
            if (parse.GetValue(json)) WriteJson(result);
            else
                foreach (var t in result.Tensors)
                    Console.WriteLine($"{t.Name}\t[{string.Join(", ", t.Shape)}]\trel {t.RelChange:G4}\tmax|Δ| {t.MaxAbsDiff:G4}");
            return Task.FromResult(0);
        });
        return cmd;
    }

    static void WriteJson(CheckpointComparison r)
    {
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout);
        w.WriteStartObject();
        w.WriteStartArray("tensors");
        foreach (var t in r.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteStartArray("shape");
            foreach (var d in t.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WritePropertyName("rel_change");
            ScalarsVerb.WriteDouble(w, t.RelChange);
            w.WritePropertyName("max_abs_diff");
            ScalarsVerb.WriteDouble(w, t.MaxAbsDiff);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteStrings(w, "only_in_a", r.OnlyInA);
        WriteStrings(w, "only_in_b", r.OnlyInB);
        WriteStrings(w, "not_compared", r.NotCompared);
        WriteStrings(w, "notes", r.Notes);
        w.WriteEndObject();
        w.Flush();
        stdout.WriteByte((byte)'\n');
    }

    static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> items)
    {
        w.WriteStartArray(name);
        foreach (var s in items) w.WriteStringValue(s);
        w.WriteEndArray();
    }
}
