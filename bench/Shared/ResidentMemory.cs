using System.Globalization;
using System.Runtime.InteropServices;

namespace StarKv.Bench;

/// <summary>The process's resident memory from <c>/proc/self/status</c>: now (VmRSS) and its peak (VmHWM), in bytes.</summary>
public static class ResidentMemory
{
    /// <summary>
    /// Hands the C allocator's free memory back to the system (glibc's <c>malloc_trim</c>), so that a measurement after
    /// another one in the same process starts from what is in use, not from what the allocator kept of the run before.
    /// </summary>
    public static void ReturnFreeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
        {
            _ = MallocTrim(0);
        }
    }

    /// <summary>Starts the peak afresh from the current resident memory (Linux: <c>5</c> written to <c>/proc/self/clear_refs</c>).</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    public static long Current => Read("VmRSS:");

    public static long Peak => Read("VmHWM:");

    private static long Read(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kib = line[field.Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {field} line.");
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
