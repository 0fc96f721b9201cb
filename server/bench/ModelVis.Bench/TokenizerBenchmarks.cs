using BenchmarkDotNet.Attributes;
using ModelVis.Tokenizers;

namespace ModelVis.Bench;

/// <summary>
/// Encode throughput of byte-level BPE (GPT-2), WordPiece (BERT) and Unigram (t5) on about 256 KB of this repository's
/// C# source. The comparison with the Rust library, in the same run, is bench/tokenizers/run.mjs.
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter *TokenizerBenchmarks*</code>
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    [Params("gpt2", "bert-base-uncased", "t5-small")]
    public string Tokenizer { get; set; } = "gpt2";

    Tokenizer _tokenizer = null!;
    string _text = "";

    [GlobalSetup]
    public void Setup()
    {
        var (repo, fixtures) = Locate();
        _tokenizer = Tokenizers.Tokenizer.FromFolder(Path.Combine(fixtures, "tokenizers", Tokenizer));
        var sources = Directory.EnumerateFiles(Path.Combine(repo, "server", "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .OrderBy(f => f, StringComparer.Ordinal);
        var sb = new System.Text.StringBuilder();
        foreach (var f in sources)
        {
            if (sb.Length > 256_000) break;
            sb.Append(File.ReadAllText(f));
        }
        _text = sb.ToString();
    }

    [Benchmark]
    public int Encode() => _tokenizer.Encode(_text).Count;

    static (string Repo, string Fixtures) Locate()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "server", "ModelVis.slnx")))
                {
                    var fixtures = Environment.GetEnvironmentVariable("MODELVIS_FIXTURES") is { Length: > 0 } env ? env
                        : Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared", "fixtures");
                    return (dir.FullName, fixtures);
                }
        throw new DirectoryNotFoundException("the repository root (server/ModelVis.slnx) was not found above the benchmark");
    }
}
