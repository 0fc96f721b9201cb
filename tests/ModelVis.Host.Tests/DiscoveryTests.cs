using ModelVis.Host.Browser;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Host.Tests;

/// <summary>One hostile folder in a workspace (config.json linked to /dev/zero, a FIFO) is skipped with its reason;
/// the rest of the workspace is still discovered, in bounded time.</summary>
public class DiscoveryTests
{
    static void Weights(string folder)
    {
        Directory.CreateDirectory(folder);
        var header = "{}"u8.ToArray();
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
    }

    [Fact]
    public void HostileFoldersAreSkippedWithTheirReasonAndTheRestIsFound()
    {
        if (OperatingSystem.IsWindows()) return;
        using var ws = new Fixtures.TempDir();
        var good = Path.Combine(ws.Path, "good");
        Weights(good);
        File.WriteAllText(Path.Combine(good, "config.json"), """{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}""");
        var zero = Path.Combine(ws.Path, "zero");
        Weights(zero);
        File.CreateSymbolicLink(Path.Combine(zero, "config.json"), "/dev/zero");
        var fifo = Path.Combine(ws.Path, "fifo");
        Weights(fifo);
        SpecialFiles.Fifo(Path.Combine(fifo, "config.json"));
        var weird = Path.Combine(ws.Path, "weird");
        Weights(weird);
        File.WriteAllText(Path.Combine(weird, "config.json"), """{"architectures": [42]}""");
        SpecialFiles.Fifo(Path.Combine(ws.Path, "pipe.gguf"));
        SpecialFiles.Fifo(Path.Combine(ws.Path, "pipe.safetensors"));

        var found = Deadline.Within(30, () => ModelDiscovery.Discover([(ws.Path, "workspace")], hfCache: null, runtimeFolders: []));
        var byName = found.ToDictionary(e => e.Name);

        Assert.Equal("gpt2", byName["good"].ModelType);
        Assert.Null(byName["good"].Error);
        Assert.Contains("character device", byName["zero"].Error);
        Assert.Contains("FIFO", byName["fifo"].Error);
        Assert.Null(byName["weird"].Architecture);
        Assert.Null(byName["weird"].Error);
        Assert.Contains("FIFO", byName["pipe.gguf"].Error);
        Assert.Contains("FIFO", byName["pipe.safetensors"].Error);
    }
}
