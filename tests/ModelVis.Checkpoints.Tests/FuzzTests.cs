using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

/// <summary>
/// Damaged files, made deterministically from good ones by flipping bytes and cutting them short: every one
/// either opens and reads, or fails with a <see cref="CheckpointException"/> — never another exception,
/// which in the host would be a crash or an unexplained error.
/// </summary>
public class FuzzTests
{
    static void OpenAndReadEverything(string path)
    {
        using var c = CheckpointLoader.Open(path);
        foreach (var t in c.Tensors)
        {
            if (t.ByteLength > 1 << 20) continue;
            var buffer = new byte[t.ByteLength];
            c.ReadBytes(t, 0, buffer);
            if (t.DType.IsReadableAsFloat()) c.ReadFloats(t);
        }
    }

    static void Survives(string path)
    {
        try { OpenAndReadEverything(path); }
        catch (CheckpointException) { }
    }

    static void Fuzz(byte[] original, string extension, int focusStart, int focusLength, int seed)
    {
        using var dir = new Fixtures.TempDir();
        var random = new Random(seed);
        for (int i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(4);
            for (int f = 0; f < flips; f++)
            {
                // Mostly inside the structure (header, pickle, directory), sometimes anywhere.
                int at = random.Next(3) == 0 ? random.Next(bytes.Length) : focusStart + random.Next(focusLength);
                bytes[at] = random.Next(4) switch { 0 => 0, 1 => 0xff, 2 => (byte)(bytes[at] ^ (1 << random.Next(8))), _ => (byte)random.Next(256) };
            }
            var path = dir.File($"f{i}{extension}");
            File.WriteAllBytes(path, bytes);
            Survives(path);
        }
        for (int keep = 0; keep < original.Length; keep += Math.Max(1, original.Length / 150))
        {
            var path = dir.File($"cut{keep}{extension}");
            File.WriteAllBytes(path, original[..keep]);
            Survives(path);
        }
    }

    [Fact]
    public void DamagedPyTorchCheckpoints()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "dtypes.pt"));
        // data.pkl is the first entry; its bytes start after the 30-byte local header and the name.
        Fuzz(bytes, ".pt", 0, Math.Min(bytes.Length, 1400), seed: 1);
        // The central directory at the end.
        Fuzz(bytes, ".pt", bytes.Length - 1200, 1200, seed: 2);
    }

    [Fact]
    public void DamagedPickles()
    {
        // Flip bytes of the pickle only, inside an otherwise valid archive.
        var pickle = TorchZipBuilder.StateDictPickle([
            new("a", "FloatStorage", "0", 6, 0, [2, 3], [3, 1]),
            new("b", "HalfStorage", "1", 2, 0, [2], [1]),
            new("c", "FloatStorage", "0", 6, 1, [2, 2], [1, 2]),
        ]);
        var storages = new Dictionary<string, byte[]> { ["0"] = TorchZipBuilder.Floats(1, 2, 3, 4, 5, 6), ["1"] = [0, 0x3c, 0, 0xc0] };
        using var dir = new Fixtures.TempDir();
        var random = new Random(3);
        for (int i = 0; i < 400; i++)
        {
            var p = (byte[])pickle.Clone();
            for (int f = 1 + random.Next(3); f > 0; f--) p[random.Next(p.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0) p = p[..random.Next(p.Length)];
            var path = dir.File($"p{i}.pt");
            TorchZipBuilder.Write(path, p, storages);
            Survives(path);
        }
    }

    [Fact]
    public void DamagedSafetensors()
    {
        var bytes = File.ReadAllBytes(Fixtures.Path_("models", "lenet5-mnist", "lenet.safetensors"));
        int header = 8 + (int)BitConverter.ToUInt64(bytes);
        Fuzz(bytes, ".safetensors", 0, header, seed: 4);
    }

    [Fact]
    public void DamagedGguf()
    {
        var sample = typeof(GgufTests).GetMethod("Sample", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var bytes = ((GgufBuilder)sample.Invoke(null, [3u])!).Build();
        Fuzz(bytes, ".gguf", 0, 736, seed: 5);
    }
}
