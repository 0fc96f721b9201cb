namespace ModelVis.Tensors;

/// <summary>
/// How the kernels use cores: every kernel splits its work into at most <see cref="Threads"/> pieces (one per
/// core) rather than many small tasks. By default every core the process may use; <c>--threads N</c> and the
/// <c>modelvis.threads</c> setting override it. A kernel called from inside a parallel loop (one matrix product per
/// attention head, per convolution group) runs on the worker that called it: the cores are already busy.
/// </summary>
public static class Parallelism
{
    static int _threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Set on a worker while it runs a parallel loop's body.</summary>
    [ThreadStatic] static bool t_inWorker;

    /// <summary>Workers a loop over <paramref name="count"/> items gets here: 1 inside another loop's body.</summary>
    static int Workers(int count) => t_inWorker ? 1 : Math.Min(Threads, count);

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
    /// <param name="cancellation">Stops handing out items; the loop then throws <see cref="OperationCanceledException"/>.</param>
    public static void ForEach(int count, Action<int> body, CancellationToken cancellation = default)
    {
        int workers = Workers(count);
        if (workers <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                body(i);
            }
            return;
        }
        int next = -1;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation }, _ => AsWorker(() =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                cancellation.ThrowIfCancellationRequested();
                body(i);
            }
        }));
    }

    /// <summary>Splits [0, count) into one contiguous range per worker and runs <paramref name="body"/>(start, end) on each.</summary>
    public static void ForRanges(int count, Action<int, int> body, int minPerWorker = 1)
    {
        int workers = Workers(Math.Max(1, count / Math.Max(1, minPerWorker)));
        if (workers <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w => AsWorker(() =>
        {
            int start = (int)((long)count * w / workers), end = (int)((long)count * (w + 1) / workers);
            if (end > start) body(start, end);
        }));
    }

    static void AsWorker(Action body)
    {
        bool outer = t_inWorker;
        t_inWorker = true;
        try { body(); }
        finally { t_inWorker = outer; }
    }
}
