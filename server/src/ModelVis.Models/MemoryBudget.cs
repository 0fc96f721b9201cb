namespace ModelVis.Models;

/// <summary>
/// What a forward pass will hold, estimated before it starts, against what the machine has free, so a pass that
/// cannot fit is refused with numbers and a way out instead of the process being killed half way.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Bytes of what <paramref name="request"/> keeps plus the pass's working buffers, for <paramref name="tokens"/> tokens.</summary>
    public static (long Total, string Breakdown) Estimate(ModelConfig c, int tokens, CaptureRequest request)
    {
        long n = tokens, f = sizeof(float);
        var parts = new List<(string What, long Bytes)>();
        if (request.HiddenStates) parts.Add(("hidden states", (c.Layers + 1L) * n * c.Hidden * f));
        long attentionLayers = Enumerable.Range(0, c.Layers).Count(request.WantsAttention);
        if (attentionLayers > 0) parts.Add(($"attention of {attentionLayers} layer{(attentionLayers == 1 ? "" : "s")}", attentionLayers * c.Heads * n * n * f));
        if (request.MlpActivations) parts.Add(("MLP activations", c.Layers * n * c.Intermediate * f));
        if (request.Logits && c.HasLmHead) parts.Add(("logits", n * c.Vocab * f));
        // Residual stream, normed input, q|k|v, context, gate|up and activation buffers, packed K/V per head.
        long qkv = (long)(c.Heads + 2 * c.KvHeads) * c.HeadDim;
        parts.Add(("working buffers", n * (3L * c.Hidden + qkv + c.Heads * c.HeadDim + 3L * c.Intermediate) * f + 2 * c.KvHeads * (n + 32) * c.HeadDim * f));
        long total = parts.Sum(p => p.Bytes);
        return (total, string.Join(", ", parts.Where(p => p.Bytes >= 1 << 20).Select(p => $"{p.What} {Format(p.Bytes)}")));
    }

    /// <summary>Throws a <see cref="ModelException"/> that says what to do when the pass would not fit in the memory that is free.</summary>
    public static void Check(ModelConfig c, int tokens, CaptureRequest request)
    {
        var (need, breakdown) = Estimate(c, tokens, request);
        long free = AvailableBytes();
        // Leave a margin for the runtime and the OS: refuse above 90 % of what is free.
        if (need <= free * 0.9) return;
        throw new ModelException(
            $"this pass over {tokens:N0} tokens needs about {Format(need)} ({breakdown}) but only {Format(free)} of memory is free. " +
            "Select fewer tokens, capture fewer layers' attention, or close other programs" +
            (request.Logits && (long)tokens * c.Vocab * sizeof(float) > need / 2 ? " (the logits of a large vocabulary are most of it)" : "") + ".");
    }

    /// <summary>Memory this process can still take: the OS's MemAvailable, capped by a cgroup limit when there is one.</summary>
    public static long AvailableBytes()
    {
        long available = long.MaxValue;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], out long kb))
                    available = kb * 1024;
            if (File.Exists("/sys/fs/cgroup/memory.max") && long.TryParse(File.ReadAllText("/sys/fs/cgroup/memory.max").Trim(), out long max)
                && long.TryParse(File.ReadAllText("/sys/fs/cgroup/memory.current").Trim(), out long current))
                available = Math.Min(available, max - current);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        if (available == long.MaxValue)
        {
            var info = GC.GetGCMemoryInfo();
            available = info.TotalAvailableMemoryBytes - info.MemoryLoadBytes;
        }
        return Math.Max(0, available);
    }

    public static string Format(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):F1} GB" : $"{bytes / (double)(1 << 20):F0} MB";
}
