using System.CommandLine;
using System.Text.Json;
using ModelVis.Models;
using ModelVis.Rpc;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>tokenize --model DIR (--text TEXT | --input FILE.jsonl) [--no-special] [--json]</c>: ids, tokens and UTF-16
/// [start, end) offsets (null for tokens the template added). With --input, each line {"text": "..."} gets one output line.
/// </summary>
static class TokenizeVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder, a folder with only tokenizer files, or a GGUF file", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tokenize" };
        var input = new Option<string?>("--input") { Description = "JSON Lines file, one {\"text\": \"...\"} per line" };
        var noSpecial = new Option<bool>("--no-special") { Description = "Do not add the template's special tokens ([CLS], <s>, …)" };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var bench = new Option<string?>("--bench") { Description = "Measure throughput on this text file, or on each text of a .jsonl file, instead (JSON: median over --repeat runs after one warm-up)" };
        var repeat = new Option<int>("--repeat") { Description = "Runs measured by --bench", DefaultValueFactory = _ => 5 };
        var cmd = new Command("tokenize", "Tokenize text with a model's tokenizer, with each token's character span") { model, text, input, noSpecial, json, bench, repeat };
        cmd.SetAction(parse =>
        {
            try { return Run(parse); }
            catch (Exception e) when (ErrorTranslation.TryUserError(e, out var message))
            {
                // System.CommandLine would print a stack trace; a bad folder or input file is the user's to fix.
                Console.Error.WriteLine($"modelvis: {message}");
                return 1;
            }
        });
        return cmd;

        int Run(ParseResult parse)
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var tokenizer = ModelTokenizer.Open(dir);
            bool addSpecial = !parse.GetValue(noSpecial), asJson = parse.GetValue(json);
            if (parse.GetValue(bench) is { } benchFile) return Benchmark(tokenizer, benchFile, Math.Max(1, parse.GetValue(repeat)), addSpecial);
            var one = parse.GetValue(text);
            var file = parse.GetValue(input);
            if ((one == null) == (file == null)) throw new UserInputException("tokenize: give exactly one of --text or --input");
            if (one != null) { Write(tokenizer, one, addSpecial, asJson); return 0; }
            if (!File.Exists(file)) throw new UserInputException($"{file}: file not found");
            int lineNo = 0;
            foreach (var line in File.ReadLines(file!))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                string? t;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    t = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("text", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                }
                catch (JsonException e) { throw new UserInputException($"{file}:{lineNo}: not valid JSON ({e.Message})"); }
                if (t == null) throw new UserInputException($"{file}:{lineNo}: expected {{\"text\": \"...\"}}");
                Write(tokenizer, t, addSpecial, asJson);
            }
            return 0;
        }
    }

    static void Write(Tokenizer tokenizer, string text, bool addSpecial, bool asJson)
    {
        var e = tokenizer.Encode(text, addSpecial);
        if (asJson)
        {
            CliRunner.WriteJson(new
            {
                ids = e.Ids,
                tokens = e.Tokens,
                offsets = e.Offsets.Select(o => o is { } s ? new[] { s.Start, s.End } : null).ToArray(),
            });
            return;
        }
        for (int i = 0; i < e.Count; i++)
        {
            var span = e.Offsets[i] is { } s ? $"[{s.Start}, {s.End})" : "(added)";
            var slice = e.Offsets[i] is { } s2 ? JsonSerializer.Serialize(text[s2.Start..s2.End]) : "";
            Console.WriteLine($"{e.Ids[i],8}  {JsonSerializer.Serialize(e.Tokens[i]),-24} {span,-12} {slice}");
        }
        Console.Error.WriteLine($"{e.Count} tokens ({tokenizer.ModelType}, vocabulary {tokenizer.VocabSize:N0})");
    }

    /// <summary>
    /// Encodes the file's text (or, for .jsonl, each line's text in turn) once to warm up, then <paramref name="repeat"/>
    /// times; prints the median time as JSON.
    /// </summary>
    static int Benchmark(Tokenizer tokenizer, string file, int repeat, bool addSpecial)
    {
        if (!File.Exists(file)) throw new UserInputException($"{file}: file not found");
        string[] texts = file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? File.ReadLines(file).Where(l => l.Trim().Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString() ?? "").ToArray()
            : [File.ReadAllText(file)];
        int tokens = texts.Sum(t => tokenizer.Encode(t, addSpecial).Count);
        var ms = new double[repeat];
        for (int r = 0; r < repeat; r++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            foreach (var t in texts) tokenizer.Encode(t, addSpecial);
            ms[r] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(ms);
        double median = repeat % 2 == 1 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
        long bytes = texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));
        CliRunner.WriteJson(new { model = tokenizer.ModelType, bytes, tokens, medianMs = median, mbPerSecond = bytes / 1e6 / (median / 1000), runsMs = ms });
        return 0;
    }
}
