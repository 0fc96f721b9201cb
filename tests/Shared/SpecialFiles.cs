using System.Runtime.InteropServices;

namespace ModelVis.Tests;

/// <summary>Non-regular files for the tests that check they are refused (Unix only).</summary>
public static class SpecialFiles
{
    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);

    /// <summary>Makes a named pipe at <paramref name="path"/> (mode 0644) and returns the path.</summary>
    public static string Fifo(string path)
    {
        if (mkfifo(path, 0x1a4) != 0) throw new IOException($"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
        return path;
    }
}
