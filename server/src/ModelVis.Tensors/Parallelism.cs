namespace ModelVis.Tensors;

/// <summary>
/// How the kernels use cores. The machines this runs on have two; every kernel splits its work into at
/// most <see cref="Threads"/> pieces (one per core) rather than many small tasks.
/// </summary>
public static class Parallelism
{
    static int _threads = Math.Clamp(Environment.ProcessorCount, 1, 2);

    /// <summary>Worker threads a kernel may use (default: the core count, at most 2).</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = Math.Max(1, value);
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
