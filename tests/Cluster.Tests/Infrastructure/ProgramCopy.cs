using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace StarKv.Cluster.Tests.Infrastructure;

/// <summary>
/// A private copy of a program's build output folder, for the processes of one test cluster. <c>dotnet test</c> builds
/// and runs the test projects side by side, and every build that includes src/Silo writes into src/Silo/bin, even when
/// nothing changed: it links libLibTorchSharp.so from the package cache again, patches it again (build/torchsharp) and
/// rewrites the patch's compat library in place. Silos run from there while such builds ran failed to load TorchSharp
/// (started between the link and the patch) or crashed with SIGSEGV when stopped; a silo maps its files, and loads
/// assemblies when it first needs them, for as long as it runs.
/// </summary>
public static class ProgramCopy
{
    /// <summary>How long the folder must stay unchanged before it is copied: a build writes into it in bursts.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Files this large or larger (libtorch, SkiaSharp, the model weights: nearly all of the silo's gigabyte) are hard links,
    /// not copies. A build only replaces them (MSBuild's Copy deletes a file before it writes it, package files
    /// are links into the package cache, the TorchSharp patch renames its result over the file), so a link keeps the
    /// bytes it was made with. The small files are copied: a build rewrites some in place (deps.json,
    /// runtimeconfig.json, the patch's compat library).
    /// </summary>
    private const long LinkFrom = 1 << 20;

    /// <summary>
    /// Copies the folder of <paramref name="program"/> into <paramref name="folder"/> once it has stayed unchanged for
    /// <see cref="Quiet"/>, again if it changed while being copied, and returns the program's path in the copy.
    /// </summary>
    public static async Task<string> TakeAsync(string program, string folder, CancellationToken cancellationToken)
    {
        var source = Path.GetDirectoryName(program) ?? throw new ArgumentException($"{program} names no folder.", nameof(program));
        var seen = Survey(source);
        IOException? failure = null;
        while (true)
        {
            await Task.Delay(Quiet, CancellationToken.None).ConfigureAwait(false);
            if (Survey(source) == seen)
            {
                failure = TryCopy(source, folder);
                if (failure is null && Survey(source) == seen)
                {
                    return Path.Combine(folder, Path.GetFileName(program));
                }
            }

            if (cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{source} could not be copied unchanged (is a build writing into it?){(failure is null ? "" : ": " + failure.Message)}", failure);
            }

            seen = Survey(source);
        }
    }

    /// <summary>
    /// Every folder and file under <paramref name="root"/> with its last write time (a folder's changes whenever a file in
    /// it is created, replaced or deleted) and every file's length.
    /// </summary>
    private static string Survey(string root)
    {
        var text = new StringBuilder();
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Prepend(new DirectoryInfo(root)).OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            var length = entry is FileInfo file ? file.Length : -1;
            text.Append(CultureInfo.InvariantCulture, $"{entry.FullName}\t{length}\t{entry.LastWriteTimeUtc.Ticks}\n");
        }

        return text.ToString();
    }

    /// <summary>Null, or what stopped the copy (usually a file a build replaced meanwhile).</summary>
    private static IOException? TryCopy(string source, string folder)
    {
        try
        {
            Copy(source, folder);
            return null;
        }
        catch (IOException error)
        {
            return error;
        }
    }

    private static void Copy(string source, string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(folder, Path.GetRelativePath(source, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(folder, Path.GetRelativePath(source, file));
            if (new FileInfo(file).Length < LinkFrom || !TryLink(file, target))
            {
                File.Copy(file, target);
            }
        }
    }

    /// <summary>A hard link, or false where there can be none (another file system, no libc): then the file is copied.</summary>
    private static bool TryLink(string existing, string created)
    {
        try
        {
            return Link(CString(existing), CString(created)) == 0;
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A path as libc takes it: UTF-8, NUL-terminated.</summary>
    private static byte[] CString(string path) => Encoding.UTF8.GetBytes(path + '\0');

    [DllImport("libc", EntryPoint = "link")]
    private static extern int Link(byte[] existing, byte[] created);
}
