using System.Runtime.InteropServices;

namespace ModelVis.IO;

/// <summary>
/// Opening files a user downloaded: only regular files are opened (a FIFO blocks <c>open()</c> until a writer
/// comes, a device such as <c>/dev/zero</c> never ends), decided by a stat of the path (symbolic links followed)
/// before anything opens it, and whole-file reads are capped before the buffer is allocated.
/// </summary>
/// <remarks>
/// Compiled into each project that opens user files (linked source, internal there), so the check is the same
/// everywhere without a shared dependency. Each caller passes its own exception type's constructor.
/// </remarks>
internal static class InputFile
{
    /// <summary>
    /// Throws <paramref name="error"/>(reason) unless <paramref name="path"/> is a regular file (after following
    /// links); returns its length. A missing path is reported as missing, not as a special file.
    /// </summary>
    public static long RequireRegular(string path, Func<string, Exception> error)
    {
        string name = Path.GetFileName(path);
        if (OperatingSystem.IsWindows())
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw error($"{name}: no such file");
            if ((info.Attributes & (FileAttributes.Device | FileAttributes.Directory)) != 0)
                throw error($"{name}: not a regular file (a device or a folder); ModelVis opens only regular files");
            return info.Length;
        }
        var kind = Kind(path, out long length);
        return kind switch
        {
            FileKind.Regular => length,
            FileKind.Missing => throw error($"{name}: no such file"),
            FileKind.Unknown => new FileInfo(path).Length, // the stat shim is unavailable: fall back to opening as before
            _ => throw error($"{name}: is {Describe(kind)}, not a regular file; ModelVis opens only regular files (a pipe or a device can block or never end)"),
        };
    }

    /// <summary>Whether the path is a regular file; <paramref name="why"/> says what it is otherwise.</summary>
    public static bool IsRegular(string path, out string why)
    {
        if (OperatingSystem.IsWindows())
        {
            var info = new FileInfo(path);
            why = !info.Exists ? "no such file" : (info.Attributes & (FileAttributes.Device | FileAttributes.Directory)) != 0 ? "not a regular file" : "";
            return why.Length == 0;
        }
        var kind = Kind(path, out _);
        why = kind is FileKind.Regular or FileKind.Unknown ? "" : kind == FileKind.Missing ? "no such file" : Describe(kind) + ", not a regular file";
        return why.Length == 0;
    }

    /// <summary>Reads a whole regular file of at most <paramref name="maxBytes"/> bytes (checked before allocating).</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, Func<string, Exception> error)
    {
        long length = RequireRegular(path, error);
        string name = Path.GetFileName(path);
        if (length > maxBytes) throw error($"{name}: {length} bytes, over the {Size(maxBytes)} limit for this kind of file");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        // The file may have changed since the stat: read at most maxBytes + 1 to notice growth.
        var bytes = new byte[fs.Length <= maxBytes ? fs.Length : maxBytes + 1];
        int n = fs.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (n > maxBytes || fs.ReadByte() >= 0) throw error($"{name}: over the {Size(maxBytes)} limit for this kind of file");
        return n == bytes.Length ? bytes : bytes[..n];
    }

    public static string Size(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.#} MiB" : $"{bytes / 1024.0:0.#} KiB";

    enum FileKind { Regular, Directory, Fifo, CharDevice, BlockDevice, Socket, Other, Missing, Unknown }

    static string Describe(FileKind k) => k switch
    {
        FileKind.Directory => "a folder",
        FileKind.Fifo => "a named pipe (FIFO)",
        FileKind.CharDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "a special file",
    };

    static bool _shimMissing;

    static FileKind Kind(string path, out long length)
    {
        length = 0;
        if (_shimMissing) return FileKind.Unknown;
        // .NET's own native shim (libSystem.Native, shipped with every runtime) normalises struct stat across Unixes:
        // FileStatus is { int Flags; int Mode; uint Uid; uint Gid; long Size; … }. A larger buffer is passed for safety.
        Span<byte> status = stackalloc byte[256];
        int rc;
        try { rc = Stat(path, ref MemoryMarshal.GetReference(status)); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _shimMissing = true;
            return FileKind.Unknown;
        }
        if (rc != 0) return FileKind.Missing;
        int mode = BitConverter.ToInt32(status[4..]);
        length = BitConverter.ToInt64(status[16..]);
        return (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref byte status);
}
