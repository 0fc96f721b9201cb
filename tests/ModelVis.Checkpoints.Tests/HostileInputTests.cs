using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

/// <summary>Files made to hurt the reader (tried as an attacker would): each is refused with a
/// <see cref="CheckpointException"/> naming the file, quickly, without allocating what its header claims.</summary>
public partial class HostileInputTests
{
    static CheckpointException Refused(string path, double seconds = 10) =>
        Deadline.Within(seconds, () => Assert.Throws<CheckpointException>(() => { using var c = CheckpointLoader.Open(path); }));

    // ---- non-regular files -------------------------------------------------------------------------------

    static string Fifo(Fixtures.TempDir dir, string name)
    {
        var path = dir.File(name);
        SpecialFiles.Fifo(path);
        return path;
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("pytorch_model.bin")]
    [InlineData("model.gguf")]
    [InlineData("model.onnx")]
    public void AFifoIsRefusedWithoutBlocking(string name)
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new Fixtures.TempDir();
        var e = Refused(Fifo(dir, name));
        Assert.Contains(name, e.Message);
        Assert.Contains("FIFO", e.Message);
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("model.pt")]
    [InlineData("model.gguf")]
    [InlineData("model.onnx")]
    public void ALinkToDevZeroIsRefused(string name)
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new Fixtures.TempDir();
        var path = dir.File(name);
        File.CreateSymbolicLink(path, "/dev/zero");
        var e = Refused(path);
        Assert.Contains("character device", e.Message);
    }

    [Fact]
    public void AShardIndexThatIsAFifoOrADeviceIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new Fixtures.TempDir();
        Fifo(dir, "model.safetensors.index.json");
        Assert.Contains("model.safetensors.index.json", Refused(dir.Path).Message);

        using var dir2 = new Fixtures.TempDir();
        File.WriteAllText(dir2.File("model.safetensors.index.json"), """{"weight_map": {"a": "model-00001.safetensors"}}""");
        File.CreateSymbolicLink(dir2.File("model-00001.safetensors"), "/dev/urandom");
        Assert.Contains("model-00001.safetensors", Refused(dir2.Path).Message);
    }

    [Fact]
    public void TheStatSeesRegularFilesAsRegular()
    {
        // The other half of the check: a regular file is opened, and the size the stat reports is the file's.
        using var dir = new Fixtures.TempDir();
        var path = dir.File("x.bin");
        File.WriteAllBytes(path, new byte[1234]);
        Assert.Equal(1234, ModelVis.IO.InputFile.RequireRegular(path, m => new CheckpointException(m)));
        Assert.True(ModelVis.IO.InputFile.IsRegular(path, out _));
        if (!OperatingSystem.IsWindows())
        {
            Assert.False(ModelVis.IO.InputFile.IsRegular("/dev/null", out var why));
            Assert.Contains("character device", why);
        }
    }
}
