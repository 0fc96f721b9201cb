namespace ModelVis.Tensors;

/// <summary>
/// How the kernels use cores: every kernel splits its work into at most <see cref="Threads"/> pieces (one per
/// core) rather than many small tasks. By default every core the process may use; <c>--threads N</c> and the
/// <c>modelvis.threads</c> setting override it.
/// </summary>
public static class Parallelism
{
    static int _threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Worker threads a kernel may use (default: the processor count; values below 1 mean the default).</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : Math.Max(1, Environment.ProcessorCount);
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every item in [0, count), items handed out one at a time to at most
    /// <see cref="Threads"/> workers (the calling thread is one of them), so uneven items balance themselves.
    /// </summary>
    public static void ForEach(int count, Action<int> body)
    {
        int workers = Math.Min(Threads, count);
        if (workers <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        int next = -1;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) body(i);
        });
    }

    /// <summary>Splits [0, count) into one contiguous range per worker and runs <paramref name="body"/>(start, end) on each.</summary>
    public static void ForRanges(int count, Action<int, int> body, int minPerWorker = 1)
    {
        int workers = Math.Min(Threads, Math.Max(1, count / Math.Max(1, minPerWorker)));
        if (workers <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int start = (int)((long)count * w / workers), end = (int)((long)count * (w + 1) / workers);
            if (end > start) body(start, end);
        });
    }
}
