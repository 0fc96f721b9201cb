using System.Diagnostics;
using System.Text;

namespace ModelVis.Tests;

/// <summary>
/// Mutation fuzzing of a reader: each input is a seed input mutated a few times (bytes flipped, zeroed or saturated;
/// 64-bit lengths planted; ranges cut, duplicated or dropped; for text, numbers swapped for hostile ones). Every input
/// must end in a result or in one of the <paramref name="allowed"/> exception types, each within
/// <see cref="PerInputLimit"/> and without allocating more than <see cref="PerInputBytes"/> on the reading thread.
/// The inputs are a sequence fixed by the seed. The test run reads a fixed number of them, the same on every machine
/// (a time budget made a faster machine reach inputs a slower one never tried); MODELVIS_FUZZ_SECONDS reads the same
/// sequence for that long instead, past where the test run stops.
/// </summary>
public static class BoundedFuzzer
{
    public static TimeSpan PerInputLimit = TimeSpan.FromSeconds(2);

    /// <summary>MODELVIS_FUZZ_SECONDS: how long each fuzzer runs when set (`npm run bench -- fuzz`).</summary>
    static readonly TimeSpan? Explore =
        double.TryParse(Environment.GetEnvironmentVariable("MODELVIS_FUZZ_SECONDS"), out var s) ? TimeSpan.FromSeconds(s) : null;

    /// <summary>What a fuzzer did; its text is the line the test log shows (and the fuzz bench reads).</summary>
    public readonly record struct Outcome(string Name, int Inputs, TimeSpan Took)
    {
        public override string ToString() =>
            $"fuzz {Name}: {Inputs:N0} inputs in {Took.TotalSeconds:0.0} s, every one a result or a clear error";
    }

    public const long PerInputBytes = 512L << 20;

    static readonly string[] HostileNumbers =
        ["0", "-1", "1e999", "-1e999", "4611686018427387904", "9223372036854775807", "18446744073709551615", "2147483647",
         "2147483648", "1099511627776", "1e-320", "0.0", "NaN", "65536", "3.5", "[]", "{}", "null", "\"x\""];

    /// <summary>Reads the first <paramref name="inputs"/> inputs of the seed's sequence (or explores, see above).</summary>
    public static Outcome Run(string name, int seed, int inputs, IReadOnlyList<byte[]> seeds, Action<byte[]> read, params Type[] allowed)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        int count = 0;
        while (Explore is { } budget ? clock.Elapsed < budget : count < inputs)
        {
            var input = Mutate(seeds[random.Next(seeds.Count)], random);
            var one = Stopwatch.StartNew();
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { read(input); }
            catch (Exception e) when (allowed.Any(t => t.IsInstanceOfType(e))) { }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{name} input #{count} (seed {seed}) ended in {e.GetType().Name}, not one of the engine's errors: {e.Message}\n{e.StackTrace}\ninput (base64): {Convert.ToBase64String(input.Length > 4096 ? input[..4096] : input)}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > PerInputBytes)
                throw new Xunit.Sdk.XunitException($"{name} input #{count} (seed {seed}) allocated {allocated:N0} bytes");
            // A slow reader is slow every time; a stall of the machine (a collection forced by a test beside this one,
            // another process) is not: an input over the limit is read again and fails only if it is slow twice.
            if (one.Elapsed > PerInputLimit && TimeOnce(read, input) is var again && again > PerInputLimit)
                throw new Xunit.Sdk.XunitException($"{name} input #{count} (seed {seed}) took {one.Elapsed.TotalSeconds:0.00} s, and {again.TotalSeconds:0.00} s read again");
            count++;
        }
        return new Outcome(name, count, clock.Elapsed);
    }

    static TimeSpan TimeOnce(Action<byte[]> read, byte[] input)
    {
        var clock = Stopwatch.StartNew();
        try { read(input); }
        catch (Exception) { } // its outcome was judged on the first read
        return clock.Elapsed;
    }

    public static byte[] Mutate(byte[] original, Random r)
    {
        var b = new List<byte>(original);
        bool text = original.Length > 0 && original.All(x => x is >= 9 and < 128);
        for (int n = 1 + r.Next(4); n > 0; n--)
        {
            if (b.Count == 0) { b.Add((byte)r.Next(256)); continue; }
            int at = r.Next(b.Count);
            switch (r.Next(text ? 8 : 7))
            {
                case 0: b[at] = (byte)r.Next(256); break;
                case 1: b[at] ^= (byte)(1 << r.Next(8)); break;
                case 2: b[at] = r.Next(2) == 0 ? (byte)0 : (byte)0xff; break;
                case 3: // plant a large little-endian length
                {
                    ulong v = r.Next(4) switch { 0 => ulong.MaxValue, 1 => 1UL << 62, 2 => (ulong)int.MaxValue + 1, _ => (ulong)r.NextInt64() };
                    var bytes = BitConverter.GetBytes(v);
                    for (int i = 0; i < 8 && at + i < b.Count; i++) b[at + i] = bytes[i];
                    break;
                }
                case 4: b.RemoveRange(at, Math.Min(b.Count - at, 1 + r.Next(64))); break;
                case 5: // duplicate a range (nesting, repeated fields)
                {
                    int len = Math.Min(b.Count - at, 1 + r.Next(256));
                    var chunk = b.GetRange(at, len);
                    b.InsertRange(r.Next(b.Count + 1), chunk);
                    break;
                }
                case 6: b.RemoveRange(at, b.Count - at); break; // truncate
                case 7: // text: replace a number with a hostile one
                {
                    var s = Encoding.ASCII.GetString(b.ToArray());
                    int start = at;
                    while (start < s.Length && !char.IsDigit(s[start])) start++;
                    if (start >= s.Length) break;
                    int end = start;
                    while (end < s.Length && (char.IsDigit(s[end]) || s[end] is '.' or 'e' or '-')) end++;
                    s = s[..start] + HostileNumbers[r.Next(HostileNumbers.Length)] + s[end..];
                    b = new List<byte>(Encoding.ASCII.GetBytes(s));
                    break;
                }
            }
        }
        return b.ToArray();
    }
}
