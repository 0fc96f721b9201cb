namespace ModelVis.Rpc;

/// <summary>What a request costs, which decides the pool it waits in.</summary>
public enum RequestKind
{
    /// <summary>Listing, reading a finished run, small computations: many at a time.</summary>
    Quick,
    /// <summary>Loads a model and runs it (forward passes, patching, checkpoint comparison): the engine uses every core itself.</summary>
    Model,
    /// <summary>Trains a model: minutes of work, one at a time.</summary>
    Training,
}

/// <summary>
/// A bounded number of running handlers per <see cref="RequestKind"/>. A request over its kind's bound waits without
/// holding a thread, and a cancellation reaches it while it waits; so a hundred queued forward passes neither block the
/// quick requests behind them nor take the thread pool's threads. The thread pool keeps enough threads for every
/// slot to block at once beside the reader and writer.
/// </summary>
sealed class RequestPools
{
    readonly Dictionary<RequestKind, SemaphoreSlim> _slots;

    public RequestPools()
    {
        int cores = Environment.ProcessorCount;
        _slots = new()
        {
            [RequestKind.Quick] = new(Math.Max(8, 2 * cores)),
            [RequestKind.Model] = new(2),
            [RequestKind.Training] = new(1),
        };
        int blocking = _slots.Values.Sum(s => s.CurrentCount) + cores;
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < blocking) ThreadPool.SetMinThreads(blocking, io);
    }

    /// <summary>Waits for a slot of <paramref name="kind"/>; dispose the result to give it back.</summary>
    public async Task<IDisposable> EnterAsync(RequestKind kind, CancellationToken cancellation)
    {
        var slots = _slots[kind];
        await slots.WaitAsync(cancellation);
        return new Slot(slots);
    }

    sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
