namespace ModelVis.Tests;

/// <summary>
/// Runs work that must end (a hostile input that could hang a reader) on a thread of its own with a deadline, so a
/// regression fails one test instead of hanging the run. Its own thread, not the thread pool: the tests beside it keep
/// the pool busy, and a deadline that counted the wait for a pool thread would fail on a loaded machine.
/// </summary>
public static class Deadline
{
    public static T Within<T>(TimeSpan limit, Func<T> work)
    {
        var task = Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!task.Wait(limit)) throw new Xunit.Sdk.XunitException($"still running after {limit.TotalSeconds:0} s");
        return task.Result;
    }

    public static T Within<T>(double seconds, Func<T> work) => Within(TimeSpan.FromSeconds(seconds), work);
}
